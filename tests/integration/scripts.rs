//! Running scripts: `args`, where `print` and `log` go, how errors point at
//! the offending spot, and `import` of modules.

use crate::support::{Env, Out};

/// Asserts that `out` is a failed run whose stderr starts with
/// `FILE:LINE:COL: error: ...MESSAGE...`, then `LINE | <that line of SOURCE>`,
/// then a caret line whose `^` stands under the start of `token`.
#[track_caller]
fn assert_error_at(
    out: &Out,
    file: &str,
    source: &str,
    line: usize,
    col: usize,
    token: &str,
    message: &str,
) {
    out.code(1).no_panic();
    let lines: Vec<&str> = out.stderr.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.contains(": error: "))
        .unwrap_or_else(|| panic!("no error line in stderr:\n{}", out.stderr));
    let head = format!("{file}:{line}:{col}: error: ");
    assert!(
        lines[at].starts_with(&head) && lines[at].contains(message),
        "expected `{head}...{message}...`, stderr:\n{}",
        out.stderr
    );
    let text = source
        .lines()
        .nth(line - 1)
        .expect("the line is in the source");
    let quoted = lines.get(at + 1).copied().unwrap_or_default();
    assert_eq!(
        quoted,
        format!("{line} | {text}"),
        "the offending line is not quoted; stderr:\n{}",
        out.stderr
    );
    let caret = lines.get(at + 2).copied().unwrap_or_default();
    let caret_at = caret
        .chars()
        .position(|c| c == '^')
        .unwrap_or_else(|| panic!("no caret line; stderr:\n{}", out.stderr));
    assert_eq!(caret.matches('^').count(), 1, "one caret: {caret:?}");
    let under: String = quoted.chars().skip(caret_at).collect();
    assert!(
        under.starts_with(token),
        "the caret stands under {under:?}, not {token:?}; stderr:\n{}",
        out.stderr
    );
    // The caret line's gutter lines up with the quoted line's.
    let bar = quoted.find(" | ").expect("a gutter");
    assert_eq!(
        caret.find(" | "),
        Some(bar),
        "gutters differ:\n{quoted}\n{caret}"
    );
    assert!(caret[..bar].trim().is_empty());
}

#[test]
fn run_gives_the_script_its_args() {
    let env = Env::new();
    env.write(
        "greet.rhai",
        "print(`hello ${args.name}`);\nprint(`mood: ${args.mood}`);\nprint(args.len());\n",
    );
    env.rollcall(&[
        "run",
        "greet.rhai",
        "--arg",
        "name=Ada Lovelace",
        "--arg",
        "mood=a=b",
    ])
    .success()
    .stdout_is("hello Ada Lovelace\nmood: a=b\n2\n");
}

#[test]
fn args_are_strings_and_empty_without_arg() {
    let env = Env::new();
    env.write(
        "types.rhai",
        "print(type_of(args));\nprint(args.len());\nif args.contains(\"n\") { print(type_of(args.n)); }\n",
    );
    env.rollcall(&["run", "types.rhai"])
        .success()
        .stdout_is("map\n0\n");
    env.rollcall(&["run", "types.rhai", "--arg", "n=5"])
        .success()
        .stdout_is("map\n1\nstring\n");
}

#[test]
fn eval_takes_args_too() {
    let env = Env::new();
    env.rollcall(&["eval", "args.who + \"!\"", "--arg", "who=me"])
        .success()
        .stdout_is("me!\n");
}

#[test]
fn print_goes_to_stdout_and_log_to_stderr() {
    let env = Env::new();
    env.write(
        "out.rhai",
        "print(\"first line\");\nlog(\"a note for the operator\");\nprint(\"second line\");\n",
    );
    let out = env.rollcall(&["run", "out.rhai"]);
    out.success()
        .stdout_is("first line\nsecond line\n")
        .stderr_has("a note for the operator");
    let quiet = env.rollcall(&["-q", "run", "out.rhai"]);
    quiet.success().stdout_is("first line\nsecond line\n");
    assert!(
        !quiet.stderr.contains("a note"),
        "-q still logs:\n{}",
        quiet.stderr
    );
}

#[test]
fn run_uses_the_database_it_is_given() {
    let env = Env::demo(100);
    env.write(
        "count.rhai",
        "let n = members().count();\nprint(`${n} members`);\n",
    );
    env.rollcall(&["run", "count.rhai"])
        .success()
        .stdout_is("100 members\n");
}

#[test]
fn error_in_a_library_function_points_at_its_line_and_column() {
    let env = Env::new();
    let source = "// look for members abroad\nlet everyone = members();\nlet abroad = everyone.country(\"XX\");\nprint(abroad.count());\n";
    env.write("abroad.rhai", source);
    let out = env.rollcall(&["run", "abroad.rhai"]);
    assert_error_at(&out, "abroad.rhai", source, 3, 23, "country(\"XX\")", "XX");
    assert_eq!(out.stdout, "");
}

#[test]
fn error_after_output_keeps_the_output_and_points_at_the_line() {
    let env = Env::new();
    let source = "print(\"before\");\nlet x = 1;\nlet s = members().country(\"XX\");\n";
    env.write("late.rhai", source);
    let out = env.rollcall(&["run", "late.rhai"]);
    assert_error_at(
        &out,
        "late.rhai",
        source,
        3,
        19,
        "country",
        "unknown country",
    );
    assert_eq!(out.stdout, "before\n");
}

#[test]
fn error_in_eval_is_named_eval() {
    let env = Env::new();
    let source = "let n = 1; members().country(\"XX\")";
    let out = env.rollcall(&["eval", source]);
    assert_error_at(&out, "<eval>", source, 1, 22, "country", "XX");
}

#[test]
fn parse_error_points_at_the_unexpected_token() {
    let env = Env::new();
    let source = "let x = 1;\n  let y = ;\nprint(\"never\");\n";
    env.write("broken.rhai", source);
    let out = env.rollcall(&["run", "broken.rhai"]);
    assert_error_at(&out, "broken.rhai", source, 2, 11, ";", "");
    assert_eq!(out.stdout, "", "a script that does not parse ran");
}

#[test]
fn parse_error_of_an_unclosed_paren() {
    let env = Env::new();
    let source = "let total = (1 + 2;\nprint(total);\n";
    env.write("paren.rhai", source);
    let out = env.rollcall(&["run", "paren.rhai"]);
    assert_error_at(&out, "paren.rhai", source, 1, 19, ";", "')'");
}

#[test]
fn unknown_function_is_named_at_its_call() {
    let env = Env::new();
    let source = "let x = 1;\nlet y = membres();\n";
    env.write("typo.rhai", source);
    let out = env.rollcall(&["run", "typo.rhai"]);
    assert_error_at(&out, "typo.rhai", source, 2, 9, "membres", "membres");
}

#[test]
fn thrown_error_shows_its_message() {
    let env = Env::new();
    let source = "let x = 1;\nif x == 1 { throw \"no seats left\"; }\n";
    env.write("throw.rhai", source);
    let out = env.rollcall(&["run", "throw.rhai"]);
    assert_error_at(&out, "throw.rhai", source, 2, 13, "throw", "no seats left");
}

#[test]
fn error_in_a_script_function_points_inside_it_and_names_the_call() {
    let env = Env::new();
    let source = "fn abroad() {\n    members().country(\"XX\")\n}\nlet a = 1;\nabroad()\n";
    env.write("fns.rhai", source);
    let out = env.rollcall(&["run", "fns.rhai"]);
    assert_error_at(&out, "fns.rhai", source, 2, 15, "country", "XX");
    out.stderr_has("in abroad, called at fns.rhai:5");
}

#[test]
fn error_inside_a_closure_points_inside_it() {
    let env = Env::demo(10);
    let source = "let n = members()\n    .filter(|m| m.shoe_size > 40)\n    .count();\n";
    env.write("closure.rhai", source);
    let out = env.rollcall(&["run", "closure.rhai"]);
    assert_error_at(
        &out,
        "closure.rhai",
        source,
        2,
        19,
        "shoe_size",
        "shoe_size",
    );
}

#[test]
fn caret_counts_characters_not_bytes() {
    let env = Env::new();
    let source = "let s = \"Müller Ørsted Ñandú\"; let y = members().country(\"XX\");\n";
    env.write("utf8.rhai", source);
    let out = env.rollcall(&["run", "utf8.rhai"]);
    assert_error_at(&out, "utf8.rhai", source, 1, 50, "country", "XX");
}

#[test]
fn caret_keeps_tab_indentation() {
    let env = Env::new();
    let source = "if true {\n\tlet y = members().country(\"XX\");\n}\n";
    env.write("tabs.rhai", source);
    let out = env.rollcall(&["run", "tabs.rhai"]);
    assert_error_at(&out, "tabs.rhai", source, 2, 20, "country", "XX");
    let caret = out.stderr.lines().nth(2).unwrap();
    assert!(caret.contains("| \t"), "the tab is lost: {caret:?}");
}

#[test]
fn windows_line_ends_do_not_leak_into_the_message() {
    let env = Env::new();
    let source = "let a = 1;\r\nlet b = members().country(\"XX\");\r\n";
    env.write("crlf.rhai", source);
    let out = env.rollcall(&["run", "crlf.rhai"]);
    assert!(!out.stderr.contains('\r'), "{:?}", out.stderr);
    assert_error_at(&out, "crlf.rhai", source, 2, 19, "country", "XX");
}

#[test]
fn error_line_counts_lines_of_a_long_script() {
    let env = Env::new();
    let mut source = String::new();
    for i in 1..=120 {
        source.push_str(&format!("let v{i} = {i};\n"));
    }
    source.push_str("let oops = member(\"nobody-here\");\n");
    env.write("long.rhai", &source);
    let out = env.rollcall(&["run", "long.rhai"]);
    assert_error_at(&out, "long.rhai", &source, 121, 12, "member", "nobody-here");
    // The gutter widens with the line number.
    assert!(out.stderr.lines().nth(2).unwrap().starts_with("    | "));
}

// ---- import ----

#[test]
fn import_of_a_parent_path_is_refused() {
    let env = Env::new();
    env.write("secret.rhai", "print(\"LEAKED\");\n");
    env.write(
        "scripts/x.rhai",
        "import \"../secret\" as x;\nprint(\"after\");\n",
    );
    let out = env.rollcall(&["run", "scripts/x.rhai"]);
    out.code(1)
        .stderr_has("cannot import \"../secret\"")
        .stderr_has("not a path")
        .stderr_has("scripts/x.rhai:1:");
    assert_eq!(out.stdout, "");

    env.write("scripts/etc.rhai", "import \"../etc/passwd\" as x;\n");
    env.rollcall(&["run", "scripts/etc.rhai"])
        .code(1)
        .stderr_has("cannot import \"../etc/passwd\"");
}

#[test]
fn import_of_an_absolute_path_is_refused() {
    let env = Env::new();
    let secret = env.write("secret.rhai", "print(\"LEAKED\");\n");
    let target = secret.with_extension("");
    for name in [
        target.display().to_string(),
        secret.display().to_string(),
        "/etc/passwd".to_string(),
    ] {
        env.write("abs.rhai", &format!("import \"{name}\" as x;\n"));
        let out = env.rollcall(&["run", "abs.rhai"]);
        out.code(1)
            .stderr_has(&format!("cannot import \"{name}\""))
            .stderr_has("module name");
        assert_eq!(out.stdout, "", "{name} was loaded");
    }
}

#[test]
fn import_of_a_path_into_a_subfolder_is_refused() {
    let env = Env::new();
    env.write("lib/helpers.rhai", "print(\"LEAKED\");\n");
    env.write("sub.rhai", "import \"lib/helpers\" as x;\n");
    let out = env.rollcall(&["run", "sub.rhai"]);
    out.code(1).stderr_has("cannot import \"lib/helpers\"");
    assert_eq!(out.stdout, "");
}

#[test]
fn module_beside_the_script_is_importable() {
    let env = Env::new();
    env.write(
        "jobs/helpers.rhai",
        "fn greet(name) { `hello ${name}` }\nexport const ANSWER = 42;\n",
    );
    env.write(
        "jobs/main.rhai",
        "import \"helpers\" as h;\nprint(h::greet(\"Ada\"));\nprint(h::ANSWER);\n",
    );
    // From another current folder: the module is found beside the script.
    std::fs::create_dir_all(env.path("elsewhere")).unwrap();
    env.cmd(["run", env.path("jobs/main.rhai").to_str().unwrap()])
        .current_dir(env.path("elsewhere"))
        .run()
        .success()
        .stdout_is("hello Ada\n42\n");
    env.cmd(["run", "../jobs/main.rhai"])
        .current_dir(env.path("elsewhere"))
        .run()
        .success()
        .stdout_is("hello Ada\n42\n");
}

#[test]
fn import_with_the_rhai_extension_is_the_same_module() {
    let env = Env::new();
    env.write("helpers.rhai", "fn twice(n) { n * 2 }\n");
    env.write(
        "main.rhai",
        "import \"helpers.rhai\" as h;\nprint(h::twice(21));\n",
    );
    env.rollcall(&["run", "main.rhai"])
        .success()
        .stdout_is("42\n");
}

#[test]
fn stdlib_folder_is_searched_first() {
    let env = Env::new();
    env.write("lib/helpers.rhai", "fn origin() { \"from --stdlib\" }\n");
    env.write("lib/extra.rhai", "fn more() { \"extra\" }\n");
    env.write(
        "jobs/helpers.rhai",
        "fn origin() { \"beside the script\" }\n",
    );
    env.write(
        "jobs/main.rhai",
        "import \"helpers\" as h;\nimport \"extra\" as e;\nprint(h::origin());\nprint(e::more());\n",
    );
    let lib = env.path("lib");
    env.rollcall(&["--stdlib", lib.to_str().unwrap(), "run", "jobs/main.rhai"])
        .success()
        .stdout_is("from --stdlib\nextra\n");
    // Without --stdlib: the module beside the script, and no `extra`.
    env.rollcall(&["run", "jobs/main.rhai"])
        .code(1)
        .stderr_has("extra");
}

#[test]
fn eval_imports_from_the_stdlib_folder() {
    let env = Env::new();
    env.write("lib/report.rhai", "fn title() { \"Quarterly\" }\n");
    let lib = env.path("lib");
    env.rollcall(&[
        "--stdlib",
        lib.to_str().unwrap(),
        "eval",
        "import \"report\" as r; r::title()",
    ])
    .success()
    .stdout_is("Quarterly\n");
}

#[test]
fn unknown_module_is_named() {
    let env = Env::new();
    let source = "let a = 1;\nimport \"no_such_module\" as m;\n";
    env.write("nomod.rhai", source);
    let out = env.rollcall(&["run", "nomod.rhai"]);
    assert_error_at(
        &out,
        "nomod.rhai",
        source,
        2,
        8,
        "\"no_such_module\"",
        "no_such_module",
    );
}

#[test]
fn error_while_loading_a_module_points_at_the_import() {
    let env = Env::new();
    env.write("bad.rhai", "let x = 1;\nthrow \"module failed\";\n");
    let source = "let a = 1;\nimport \"bad\" as b;\n";
    env.write("main.rhai", source);
    let out = env.rollcall(&["run", "main.rhai"]);
    assert_error_at(&out, "main.rhai", source, 2, 8, "\"bad\"", "module failed");
}

#[test]
fn error_in_a_module_function_points_at_the_module_or_the_call() {
    let env = Env::new();
    let module = "fn bad() {\n    members().country(\"XX\")\n}\nfn ok() { 1 }\n";
    env.write("mod1.rhai", module);
    let source = "import \"mod1\" as m;\nlet a = m::ok();\nlet b = m::bad();\n";
    env.write("use.rhai", source);
    let out = env.rollcall(&["run", "use.rhai"]);
    out.code(1).stderr_has("XX");
    let first = out.stderr.lines().next().unwrap_or_default();
    // Either the place in the module, quoted from the module, or the call in
    // the script; never the module's position quoted from the script.
    if first.starts_with("use.rhai:") {
        assert_error_at(&out, "use.rhai", source, 3, 9, "m::bad", "XX");
    } else {
        assert!(first.contains("mod1.rhai:2:15: error: "), "{}", out.stderr);
        out.stderr_has("2 |     members().country(\"XX\")");
    }
}
