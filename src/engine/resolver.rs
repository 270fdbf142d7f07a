//! `import "name" as m;` — finds `name.rhai` in `--stdlib DIR`, then beside the
//! script, then in the stdlib built into the binary. Names are plain module
//! names: absolute paths, `..` and separators are refused, so a script cannot
//! load files from elsewhere on the machine.

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::PathBuf;

use rhai::{Engine, EvalAltResult, Module, ModuleResolver, Position, Scope, Shared};

type SharedModule = Shared<Module>;

use super::ModulePaths;

/// The stdlib shipped inside the binary: (module name, source).
pub const STDLIB: &[(&str, &str)] = &[
    ("hygiene", include_str!("../../stdlib/hygiene.rhai")),
    ("onboarding", include_str!("../../stdlib/onboarding.rhai")),
    ("reports", include_str!("../../stdlib/reports.rhai")),
];

pub struct Resolver {
    paths: ModulePaths,
    cache: RefCell<HashMap<String, SharedModule>>,
}

impl Resolver {
    pub fn new(paths: ModulePaths) -> Resolver {
        Resolver {
            paths,
            cache: RefCell::new(HashMap::new()),
        }
    }

    fn source(&self, name: &str) -> Option<(String, String)> {
        let file = format!("{name}.rhai");
        let dirs: [Option<&PathBuf>; 2] = [
            self.paths.stdlib_dir.as_ref(),
            self.paths.script_dir.as_ref(),
        ];
        for dir in dirs.into_iter().flatten() {
            let path = dir.join(&file);
            if let Ok(text) = std::fs::read_to_string(&path) {
                return Some((path.display().to_string(), text));
            }
        }
        STDLIB
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(n, text)| (format!("stdlib/{n}.rhai"), text.to_string()))
    }
}

/// Whether `name` is a plain module name (letters, digits, `_`, `-`).
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

impl ModuleResolver for Resolver {
    fn resolve(
        &self,
        engine: &Engine,
        _source: Option<&str>,
        path: &str,
        pos: Position,
    ) -> Result<SharedModule, Box<EvalAltResult>> {
        let name = path.strip_suffix(".rhai").unwrap_or(path);
        if !valid_name(name) {
            return Err(EvalAltResult::ErrorRuntime(
                format!(
                    "cannot import \"{path}\": give a module name such as \"reports\", not a path \
                     (modules are looked up in --stdlib, beside the script, then in the built-in stdlib)"
                )
                .into(),
                pos,
            )
            .into());
        }
        if let Some(module) = self.cache.borrow().get(name) {
            return Ok(module.clone());
        }
        let Some((origin, text)) = self.source(name) else {
            let known: Vec<&str> = STDLIB.iter().map(|(n, _)| *n).collect();
            return Err(EvalAltResult::ErrorModuleNotFound(
                format!("{path} (built-in modules: {})", known.join(", ")),
                pos,
            )
            .into());
        };
        let mut ast = engine.compile(&text).map_err(|e| {
            Box::new(EvalAltResult::ErrorInModule(
                origin.clone(),
                EvalAltResult::ErrorParsing(e.0.as_ref().clone(), e.1).into(),
                pos,
            ))
        })?;
        ast.set_source(origin.as_str());
        let module = Module::eval_ast_as_new(Scope::new(), &ast, engine)
            .map_err(|e| Box::new(EvalAltResult::ErrorInModule(origin, e, pos)))?;
        let module: SharedModule = module.into();
        self.cache
            .borrow_mut()
            .insert(name.to_string(), module.clone());
        Ok(module)
    }
}
