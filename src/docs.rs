//! The script API reference, generated from the engine itself: the `///`
//! comments of every registered function (with their runnable examples), the
//! member properties, and the built-in stdlib modules. `rollcall docs`, the
//! REPL's `:help` and its completion all read from here.

use std::collections::BTreeMap;

use rhai::Engine;
use serde::Deserialize;

use crate::engine::resolver::STDLIB;

/// One documented function, all its overloads together.
#[derive(Clone, Debug, Default)]
pub struct FnDoc {
    pub name: String,
    /// Script-side signatures, such as `members().country(code)`.
    pub signatures: Vec<String>,
    /// The text of the doc comment, without its examples.
    pub text: String,
    /// The code of each ```rhai example.
    pub examples: Vec<String>,
}

#[derive(Deserialize)]
struct Metadata {
    #[serde(default)]
    functions: Vec<FnMeta>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FnMeta {
    name: String,
    #[serde(default)]
    params: Vec<Param>,
    #[serde(default)]
    doc_comments: Vec<String>,
}

#[derive(Deserialize)]
struct Param {
    name: Option<String>,
    #[serde(rename = "type")]
    typ: Option<String>,
}

/// The sections of the reference, in order, with the functions in each.
const SECTIONS: &[(&str, &[&str])] = &[
    (
        "Starting points",
        &[
            "members",
            "member",
            "course",
            "group",
            "series",
            "participants",
        ],
    ),
    (
        "Filters",
        &[
            "search",
            "in_group",
            "not_in_group",
            "with_role",
            "country",
            "language",
            "team",
            "anonymous",
            "active",
            "suspended",
            "deactivated",
            "licensed",
            "unlicensed",
            "created_before",
            "created_after",
            "enrolled_in",
            "not_enrolled_in",
            "where",
            "filter",
            "limit",
            "order_by",
        ],
    ),
    (
        "Filters of participant sets",
        &[
            "passed",
            "failed",
            "undecided",
            "deadline_before",
            "overdue",
            "invited",
            "not_invited",
            "inactive",
            "course_active",
        ],
    ),
    (
        "Terminal functions",
        &["count", "list", "first", "usernames", "show", "each"],
    ),
    (
        "Actions on member and participant sets",
        &[
            "assign_group",
            "remove_from_group",
            "assign_course",
            "assign_series",
            "suspend",
            "deactivate",
            "reactivate",
            "delete",
            "set_country",
            "set_visibility",
            "set_language",
            "set_team",
            "add_role",
            "remove_role",
            "reset_access_code",
            "assign_license",
            "release_license",
            "export_csv",
        ],
    ),
    (
        "Actions on participant sets",
        &[
            "invite",
            "resend_invitation",
            "retake",
            "set_status",
            "set_deadline",
            "clear_deadline",
            "remove",
            "export_certificates",
        ],
    ),
    (
        "The whole academy",
        &[
            "courses",
            "groups",
            "series_list",
            "license_seats",
            "set_license_seats",
            "create_group",
            "create_course",
            "create_series",
            "import_csv",
            "today",
            "log",
        ],
    ),
];

fn clean_type(typ: &str) -> String {
    typ.trim_start_matches("&mut ")
        .trim_start_matches('&')
        .rsplit("::")
        .next()
        .unwrap_or(typ)
        .to_string()
}

/// Splits a doc comment into its text and its ```rhai examples.
fn split_comment(lines: &[String]) -> (String, Vec<String>) {
    let mut text = Vec::new();
    let mut examples = Vec::new();
    let mut example: Option<Vec<String>> = None;
    for raw in lines {
        for line in raw.lines() {
            let line = line.trim_start().trim_start_matches("///");
            let line = line.strip_prefix(' ').unwrap_or(line);
            match (&mut example, line.trim()) {
                (None, fence) if fence.starts_with("```") => example = Some(Vec::new()),
                (Some(code), "```") => {
                    examples.push(code.join("\n"));
                    example = None;
                }
                (Some(code), _) => code.push(line.to_string()),
                (None, _) => text.push(line.to_string()),
            }
        }
    }
    (text.join("\n").trim().to_string(), examples)
}

/// Every documented function of the engine, by name.
pub fn functions(engine: &Engine) -> BTreeMap<String, FnDoc> {
    let json = engine.gen_fn_metadata_to_json(false).unwrap_or_default();
    let metadata: Metadata = serde_json::from_str(&json).unwrap_or(Metadata {
        functions: Vec::new(),
    });
    let mut docs: BTreeMap<String, FnDoc> = BTreeMap::new();
    for f in metadata.functions {
        if f.name.starts_with("get$") || f.name.starts_with("set$") || f.name.starts_with("to_") {
            continue;
        }
        let params: Vec<(String, String)> = f
            .params
            .iter()
            .map(|p| {
                (
                    p.name.clone().unwrap_or_else(|| "_".into()),
                    clean_type(p.typ.as_deref().unwrap_or("?")),
                )
            })
            .collect();
        let (receiver, rest) = match params.first() {
            Some((_, t)) if ["MemberSet", "Member", "Entity"].contains(&t.as_str()) => {
                (Some(t.clone()), &params[1..])
            }
            _ => (None, &params[..]),
        };
        let args: Vec<String> = rest.iter().map(|(n, _)| n.clone()).collect();
        let signature = match receiver.as_deref() {
            Some("MemberSet") => format!("set.{}({})", f.name, args.join(", ")),
            Some("Member") => format!("member.{}({})", f.name, args.join(", ")),
            Some(_) if f.name == "participants" => format!("course(code).{}()", f.name),
            Some(_) => format!("group(name).{}({})", f.name, args.join(", ")),
            None => format!("{}({})", f.name, args.join(", ")),
        };
        let entry = docs.entry(f.name.clone()).or_insert_with(|| FnDoc {
            name: f.name.clone(),
            ..FnDoc::default()
        });
        if !entry.signatures.contains(&signature) {
            entry.signatures.push(signature);
        }
        if !f.doc_comments.is_empty() && entry.text.is_empty() && entry.examples.is_empty() {
            let (text, examples) = split_comment(&f.doc_comments);
            entry.text = text;
            entry.examples = examples;
        }
    }
    docs.retain(|_, d| !d.text.is_empty() || !d.examples.is_empty());
    docs
}

/// The member properties, from the getters' doc comments.
pub fn properties(engine: &Engine) -> Vec<(String, String)> {
    let json = engine.gen_fn_metadata_to_json(false).unwrap_or_default();
    let metadata: Metadata = serde_json::from_str(&json).unwrap_or(Metadata {
        functions: Vec::new(),
    });
    let mut props: BTreeMap<String, String> = BTreeMap::new();
    for f in metadata.functions {
        if let Some(name) = f.name.strip_prefix("get$") {
            let (text, _) = split_comment(&f.doc_comments);
            let slot = props.entry(name.to_string()).or_default();
            if slot.is_empty() {
                *slot = text.replace('\n', " ");
            }
        }
    }
    props.into_iter().collect()
}

/// The functions of one stdlib module: (name, parameters, doc text, examples).
pub fn stdlib_functions(engine: &Engine, source: &str) -> Vec<(String, Vec<String>, FnDoc)> {
    let Ok(ast) = engine.compile(source) else {
        return Vec::new();
    };
    ast.iter_functions()
        .filter(|f| f.access == rhai::FnAccess::Public)
        .map(|f| {
            let comments: Vec<String> = f.comments.iter().map(|c| c.to_string()).collect();
            let (text, examples) = split_comment(&comments);
            let params: Vec<String> = f.params.iter().map(|p| p.to_string()).collect();
            (
                f.name.to_string(),
                params.clone(),
                FnDoc {
                    name: f.name.to_string(),
                    signatures: vec![format!("{}({})", f.name, params.join(", "))],
                    text,
                    examples,
                },
            )
        })
        .collect()
}

fn entry_markdown(out: &mut String, doc: &FnDoc) {
    out.push_str(&format!("### `{}`\n\n", doc.name));
    for signature in &doc.signatures {
        out.push_str(&format!("- `{signature}`\n"));
    }
    out.push('\n');
    if !doc.text.is_empty() {
        out.push_str(&doc.text);
        out.push_str("\n\n");
    }
    for example in &doc.examples {
        out.push_str("```rhai\n");
        out.push_str(example);
        out.push_str("\n```\n\n");
    }
}

/// The whole reference as Markdown.
pub fn markdown(engine: &Engine) -> String {
    let mut docs = functions(engine);
    let mut out = String::from(
        "# rollcall script API\n\nGenerated from the engine (`rollcall docs`). Every example runs \
         against the demo academy (`rollcall demo`).\n\n",
    );
    for (section, names) in SECTIONS {
        out.push_str(&format!("## {section}\n\n"));
        for name in *names {
            if let Some(doc) = docs.remove(*name) {
                entry_markdown(&mut out, &doc);
            }
        }
    }
    if !docs.is_empty() {
        out.push_str("## More\n\n");
        for doc in docs.values() {
            entry_markdown(&mut out, doc);
        }
    }
    out.push_str("## Member properties\n\nRead-only, on the values `first()`, `member()` and `each()` give:\n\n");
    for (name, text) in properties(engine) {
        out.push_str(&format!(
            "- `m.{name}`{}{text}\n",
            if text.is_empty() { "" } else { ": " }
        ));
    }
    out.push_str("\n## The stdlib\n\nBuilt into the binary; `import \"name\" as n;` then `n::function(...)`.\n\n");
    for (module, source) in STDLIB {
        let about: Vec<&str> = source
            .lines()
            .take_while(|l| l.starts_with("//!"))
            .map(|l| l.trim_start_matches("//!").trim())
            .collect();
        out.push_str(&format!("### Module `{module}`\n\n{}\n\n", about.join(" ")));
        for (name, _, doc) in stdlib_functions(engine, source) {
            out.push_str(&format!("#### `{module}::{}`\n\n", doc.signatures[0]));
            let _ = name;
            if !doc.text.is_empty() {
                out.push_str(&doc.text);
                out.push_str("\n\n");
            }
            for example in &doc.examples {
                out.push_str(&format!("```rhai\n{example}\n```\n\n"));
            }
        }
    }
    out
}

/// One entry, for `:help NAME`; also finds stdlib functions as `module::name`.
pub fn help(engine: &Engine, name: &str) -> Option<String> {
    let name = name.trim().trim_end_matches("()");
    let mut out = String::new();
    if let Some(doc) = functions(engine).get(name) {
        entry_markdown(&mut out, doc);
        return Some(out);
    }
    if let Some((module, function)) = name.split_once("::") {
        let source = STDLIB.iter().find(|(m, _)| *m == module)?.1;
        let (_, _, doc) = stdlib_functions(engine, source)
            .into_iter()
            .find(|(n, _, _)| n == function)?;
        entry_markdown(&mut out, &doc);
        return Some(out);
    }
    properties(engine)
        .into_iter()
        .find(|(p, _)| p == name)
        .map(|(p, text)| format!("m.{p}: {text}\n"))
}
