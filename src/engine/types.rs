//! The values scripts hold: lazy member/participant sets and member rows.

use std::rc::Rc;

use rhai::{FnPtr, ImmutableString};

use super::Ctx;
use crate::query::{Kind, Op, Query};
use crate::store::rows::MemberRow;

/// A lazy set of members or participants: a query that runs when a terminal
/// function or an action needs it. Filters return a new set.
#[derive(Clone)]
pub struct MemberSet {
    pub ctx: Rc<Ctx>,
    pub query: Query,
    /// The closures of `filter(...)` steps, numbered by `Op::Closure`.
    pub closures: Vec<FnPtr>,
    /// The course code of a participant set.
    pub course: Option<ImmutableString>,
}

impl MemberSet {
    pub fn members(ctx: Rc<Ctx>) -> MemberSet {
        MemberSet {
            ctx,
            query: Query::new(Kind::Members),
            closures: Vec::new(),
            course: None,
        }
    }

    pub fn participants(ctx: Rc<Ctx>, course_id: i64, code: ImmutableString) -> MemberSet {
        MemberSet {
            ctx,
            query: Query::new(Kind::Participants { course_id }),
            closures: Vec::new(),
            course: Some(code),
        }
    }

    pub fn is_participants(&self) -> bool {
        matches!(self.query.kind, Kind::Participants { .. })
    }

    pub fn with(&self, op: Op) -> MemberSet {
        MemberSet {
            query: self.query.with(op),
            ..self.clone()
        }
    }

    pub fn with_closure(&self, f: FnPtr) -> MemberSet {
        let mut next = self.with(Op::Closure(self.closures.len()));
        next.closures.push(f);
        next
    }

    /// "members" or "participants of COURSE", for messages.
    pub fn describe(&self) -> String {
        match &self.course {
            Some(code) => format!("participants of {code}"),
            None => "members".to_string(),
        }
    }
}

/// One member (with their participation, in a participant set).
/// Fields are read-only properties: `m.username`, `m.country`, ...
#[derive(Clone)]
pub struct Member {
    pub row: Rc<MemberRow>,
    pub course: Option<ImmutableString>,
}

impl Member {
    pub fn new(row: MemberRow, course: Option<ImmutableString>) -> Member {
        Member {
            row: Rc::new(row),
            course,
        }
    }
}
