//! Showing values to people: member tables, and values as text or JSON.

use comfy_table::{ContentArrangement, Table, presets};
use rhai::{Dynamic, Map};

use super::types::Member;

/// The fields of a member (and participation) as a map, as `list()` returns them.
pub fn member_map(member: &Member) -> Map {
    let r = &member.row;
    let mut map = Map::new();
    let mut put = |k: &str, v: Dynamic| {
        map.insert(k.into(), v);
    };
    put("id", r.id.into());
    put("username", r.username().to_string().into());
    put("email", r.email().to_string().into());
    put("first_name", r.first_name().to_string().into());
    put("last_name", r.last_name().to_string().into());
    put("name", r.full_name().into());
    put("country", r.country().to_string().into());
    put("language", r.language().to_string().into());
    put("visibility", r.visibility().to_string().into());
    put("team", r.team().to_string().into());
    put(
        "roles",
        r.role_names()
            .into_iter()
            .map(Dynamic::from)
            .collect::<rhai::Array>()
            .into(),
    );
    put("anonymous", r.anonymous.into());
    put("license", r.license.into());
    put("created_at", r.created_at().to_string().into());
    put("updated_at", r.updated_at().to_string().into());
    match &r.participation {
        None => put("status", r.status().to_string().into()),
        Some(p) => {
            put("member_status", r.status().to_string().into());
            put(
                "course",
                member.course.clone().map_or(Dynamic::UNIT, Dynamic::from),
            );
            put("status", p.status.clone().into());
            put("deadline", opt(&p.deadline));
            put("active", p.active.into());
            put("invitations", p.invitations.into());
            put("last_invited_at", opt(&p.last_invited_at));
            put("attempt", p.attempt.into());
            put("score", p.score.map_or(Dynamic::UNIT, Dynamic::from));
            put("completed_at", opt(&p.completed_at));
            put("enrolled_at", p.enrolled_at.clone().into());
        }
    }
    map
}

fn opt(value: &Option<String>) -> Dynamic {
    value.clone().map_or(Dynamic::UNIT, Dynamic::from)
}

/// A table of members; participant rows show their course status too.
pub fn member_table(members: &[Member]) -> String {
    let participants = members
        .first()
        .is_some_and(|m| m.row.participation.is_some());
    let mut table = Table::new();
    table
        .load_preset(presets::UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic);
    if participants {
        table.set_header([
            "username",
            "name",
            "status",
            "deadline",
            "attempt",
            "invited",
            "course active",
            "account",
        ]);
        for m in members {
            let r = &m.row;
            if let Some(p) = &r.participation {
                table.add_row([
                    r.username().to_string(),
                    r.full_name(),
                    p.status.clone(),
                    p.deadline.clone().unwrap_or_default(),
                    p.attempt.to_string(),
                    p.invitations.to_string(),
                    yes_no(p.active).into(),
                    r.status().to_string(),
                ]);
            }
        }
    } else {
        table.set_header([
            "username", "name", "email", "country", "lang", "status", "roles", "license",
        ]);
        for m in members {
            let r = &m.row;
            table.add_row([
                r.username().to_string(),
                r.full_name(),
                r.email().to_string(),
                r.country().to_string(),
                r.language().to_string(),
                r.status().to_string(),
                r.role_names().join(";"),
                yes_no(r.license).into(),
            ]);
        }
    }
    table.to_string()
}

fn yes_no(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

/// Keys people look for first, in this order; others follow alphabetically
/// (script maps keep no order of their own).
const KEY_ORDER: &[&str] = &[
    "action",
    "code",
    "name",
    "username",
    "title",
    "course",
    "status",
    "matched",
    "changed",
    "skipped",
    "reasons",
    "dry_run",
    "needs_confirmation",
    "participants",
    "members",
    "passed",
    "failed",
    "undecided",
    "seats",
    "used",
    "free",
];

fn ordered_keys(map: &Map) -> Vec<String> {
    let mut keys: Vec<String> = map.keys().map(|k| k.to_string()).collect();
    keys.sort_by_key(|k| {
        (
            KEY_ORDER
                .iter()
                .position(|o| o == k)
                .unwrap_or(KEY_ORDER.len()),
            k.clone(),
        )
    });
    keys
}

/// A table of maps (an array of them, as `courses()` returns): a row each.
/// A single map is shown as field/value lines instead.
pub fn map_table(rows: &[Map]) -> String {
    let mut table = Table::new();
    table
        .load_preset(presets::UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic);
    match rows {
        [] => return String::new(),
        [map] => {
            for key in ordered_keys(map) {
                table.add_row([
                    key.clone(),
                    map.get(key.as_str()).map(plain).unwrap_or_default(),
                ]);
            }
        }
        [first, ..] => {
            let columns = ordered_keys(first);
            table.set_header(columns.clone());
            for row in rows {
                table.add_row(
                    columns
                        .iter()
                        .map(|c| row.get(c.as_str()).map(plain).unwrap_or_default()),
                );
            }
        }
    }
    table.to_string()
}

/// A value as text without quotes around strings.
pub fn plain(value: &Dynamic) -> String {
    if value.is_unit() {
        return String::new();
    }
    if let Some(items) = value.read_lock::<rhai::Array>() {
        return items.iter().map(plain).collect::<Vec<_>>().join(";");
    }
    if let Some(map) = value.read_lock::<Map>() {
        return ordered_keys(&map)
            .iter()
            .map(|k| {
                format!(
                    "{k}: {}",
                    map.get(k.as_str()).map(plain).unwrap_or_default()
                )
            })
            .collect::<Vec<_>>()
            .join(", ");
    }
    value.to_string()
}

/// A value as JSON.
pub fn to_json(value: &Dynamic) -> serde_json::Value {
    use serde_json::Value;
    if let Some(member) = value.read_lock::<Member>() {
        return map_json(&member_map(&member));
    }
    if let Some(map) = value.read_lock::<Map>() {
        return map_json(&map);
    }
    if let Some(items) = value.read_lock::<rhai::Array>() {
        return Value::Array(items.iter().map(to_json).collect());
    }
    if value.is_unit() {
        return Value::Null;
    }
    if let Ok(b) = value.as_bool() {
        return Value::Bool(b);
    }
    if let Ok(n) = value.as_int() {
        return n.into();
    }
    if let Ok(x) = value.as_float() {
        return x.into();
    }
    Value::String(plain(value))
}

fn map_json(map: &Map) -> serde_json::Value {
    serde_json::Value::Object(
        map.iter()
            .map(|(k, v)| (k.to_string(), to_json(v)))
            .collect(),
    )
}
