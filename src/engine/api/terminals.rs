//! Terminal functions: they run a set's query and return or show its rows.

use rhai::plugin::*;

use crate::engine::error::RhaiResult;
use crate::engine::render;
use crate::engine::stream;
use crate::engine::types::{Member, MemberSet};

/// How many rows `show()` prints when not told.
pub const SHOW_ROWS: i64 = 50;

/// The first `n` members of a set, read in one pass.
pub fn head(ncx: &NativeCallContext, set: &MemberSet, n: i64) -> RhaiResult<Vec<Member>> {
    let mut rows = Vec::new();
    if n > 0 {
        stream::for_each(ncx, set, |m| {
            rows.push(m);
            Ok((rows.len() as i64) < n)
        })?;
    }
    Ok(rows)
}

/// Prints a table of the first `n` rows and, when there are more, how many.
pub fn show_rows(ncx: &NativeCallContext, set: &MemberSet, n: i64) -> RhaiResult<()> {
    let rows = head(ncx, set, n)?;
    let ctx = &set.ctx;
    if rows.is_empty() && n > 0 {
        ctx.print(&format!("(no {})", set.describe()));
        return Ok(());
    }
    if !rows.is_empty() {
        ctx.print(&render::member_table(&rows));
    }
    let total = if (rows.len() as i64) < n {
        rows.len() as i64
    } else {
        stream::count(ncx, set)?
    };
    if total > rows.len() as i64 {
        ctx.print(&format!(
            "{} of {total} {} shown; show(n) shows more",
            rows.len(),
            set.describe()
        ));
    } else {
        ctx.print(&format!("{total} {}", set.describe()));
    }
    Ok(())
}

#[export_module]
pub mod api {
    /// The number of rows in the set.
    ///
    /// ```rhai
    /// members().country("NL").suspended().count()
    /// ```
    #[rhai_fn(pure, return_raw)]
    pub fn count(ncx: NativeCallContext, set: &mut MemberSet) -> RhaiResult<i64> {
        stream::count(&ncx, set)
    }

    /// The rows as an array of maps (every field; participant rows add their course fields).
    ///
    /// ```rhai
    /// members().limit(2).list()
    /// ```
    #[rhai_fn(pure, return_raw)]
    pub fn list(ncx: NativeCallContext, set: &mut MemberSet) -> RhaiResult<rhai::Array> {
        let mut out = rhai::Array::new();
        stream::for_each(&ncx, set, |m| {
            out.push(render::member_map(&m).into());
            Ok(true)
        })?;
        Ok(out)
    }

    /// The first row as a member value, or `()` when the set is empty.
    ///
    /// ```rhai
    /// members().order_by("created_at").first().username
    /// ```
    #[rhai_fn(pure, return_raw)]
    pub fn first(ncx: NativeCallContext, set: &mut MemberSet) -> RhaiResult<Dynamic> {
        Ok(super::head(&ncx, set, 1)?
            .pop()
            .map_or(Dynamic::UNIT, Dynamic::from))
    }

    /// The usernames, in order.
    ///
    /// ```rhai
    /// members().anonymous().limit(3).usernames()
    /// ```
    #[rhai_fn(pure, return_raw)]
    pub fn usernames(ncx: NativeCallContext, set: &mut MemberSet) -> RhaiResult<rhai::Array> {
        let mut out = rhai::Array::new();
        stream::for_each(&ncx, set, |m| {
            out.push(m.row.username().to_string().into());
            Ok(true)
        })?;
        Ok(out)
    }

    /// Prints a table of the first 50 rows and the total count.
    ///
    /// ```rhai
    /// members().country("SE").show()
    /// ```
    #[rhai_fn(pure, return_raw, name = "show")]
    pub fn show(ncx: NativeCallContext, set: &mut MemberSet) -> RhaiResult<()> {
        super::show_rows(&ncx, set, super::SHOW_ROWS)
    }

    /// Prints a table of the first `n` rows.
    ///
    /// ```rhai
    /// members().country("SE").show(5)
    /// ```
    #[rhai_fn(pure, return_raw, name = "show")]
    pub fn show_n(ncx: NativeCallContext, set: &mut MemberSet, n: i64) -> RhaiResult<()> {
        super::show_rows(&ncx, set, n)
    }

    /// Calls the closure with each row, in order.
    ///
    /// ```rhai
    /// members().limit(3).each(|m| print(m.username + " " + m.country))
    /// ```
    #[rhai_fn(pure, return_raw)]
    pub fn each(ncx: NativeCallContext, set: &mut MemberSet, f: rhai::FnPtr) -> RhaiResult<()> {
        stream::for_each(&ncx, set, |m| {
            let _ = f.call_raw(&ncx, None, [Dynamic::from(m)])?;
            Ok(true)
        })
    }

    /// A one-line description: the kind of set and its size.
    #[rhai_fn(pure, return_raw, name = "to_string", name = "to_debug")]
    pub fn describe(ncx: NativeCallContext, set: &mut MemberSet) -> RhaiResult<String> {
        Ok(format!("{} {}", stream::count(&ncx, set)?, set.describe()))
    }
}
