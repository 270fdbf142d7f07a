//! Tests of the filter-to-SQL compiler.

use super::*;

#[test]
fn a_plain_set_selects_every_member_in_id_order() {
    let q = Query::new(Kind::Members);
    let sql = q.plan().unwrap().select("m.id");
    assert_eq!(sql.text, "SELECT m.id FROM members m WHERE 1 ORDER BY m.id");
    assert!(sql.params.is_empty());
}
