//! Progress bars on long work, shown only when stderr is a terminal and the
//! user did not ask for quiet: cron and pipes stay silent.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressStyle};

/// A bar over `total` units (bytes or rows), or a hidden one.
pub fn bar(total: u64, bytes: bool, quiet: bool) -> ProgressBar {
    if quiet || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let template = if bytes {
        "{spinner} {wide_bar} {bytes}/{total_bytes} ({eta})"
    } else {
        "{spinner} {wide_bar} {pos}/{len} ({eta})"
    };
    let style =
        ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar());
    ProgressBar::new(total).with_style(style)
}
