//! Files rollcall writes: always to a temporary name beside the final one,
//! renamed when complete, so a reader never sees half a file.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Numbers the temporary files of this process: two exports to one name in a
/// run must not share a temporary file.
static NEXT: AtomicUsize = AtomicUsize::new(0);

/// The temporary name to write `dest` under, after checking `dest` can be written.
pub fn temporary_beside(dest: &Path) -> Result<PathBuf, String> {
    let shown = dest.display();
    let Some(file_name) = dest.file_name().map(|n| n.to_string_lossy().into_owned()) else {
        return Err(format!(
            "\"{shown}\" is not a file name; give a path such as \"out.csv\""
        ));
    };
    if dest.is_dir() {
        return Err(format!(
            "\"{shown}\" is a folder; give a file name inside it"
        ));
    }
    let dir = match dest.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if !dir.is_dir() {
        return Err(format!(
            "the folder {} does not exist; create it first",
            dir.display()
        ));
    }
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    Ok(dir.join(format!(
        ".{file_name}.rollcall-{}-{n}.tmp",
        std::process::id()
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_temporary_file_sits_beside_the_final_one() {
        let dir = std::env::temp_dir();
        let tmp = temporary_beside(&dir.join("out.csv")).unwrap();
        assert_eq!(tmp.parent(), Some(dir.as_path()));
        assert!(
            tmp.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with(".out.csv.rollcall-")
        );
        assert!(temporary_beside(&dir).is_err());
        assert!(
            temporary_beside(Path::new("/no/such/folder/x.csv"))
                .unwrap_err()
                .contains("does not exist")
        );
    }
}
