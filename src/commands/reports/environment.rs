//! `environment.txt` of `analyze`: the machine the rollback happened on —
//! disk, memory, versions, system — read from the kernel and from files,
//! without running any program (a cloned repository must not be able to
//! make this tool run one, and `analyze` should work on a sick machine).

use std::ffi::CStr;
use std::path::Path;

/// The whole text.
pub fn environment_text(workdir: &Path, time: &str, test_command: Option<&str>) -> String {
    let mut s = format!("Environment at {time}\n\n");
    s.push_str(&format!(
        "[disk: the work tree's filesystem, {}]\n",
        workdir.display()
    ));
    match disk(workdir) {
        Ok(d) => s.push_str(&d),
        Err(e) => s.push_str(&format!("not available: {e}\n")),
    }
    s.push_str("\n[memory: /proc/meminfo]\n");
    s.push_str(&memory());
    s.push_str("\n[tools]\n");
    s.push_str(&format!(
        "git-rollback-sprint {}\nlibgit2 {}\n",
        env!("CARGO_PKG_VERSION"),
        crate::git::libgit2_version()
    ));
    s.push_str(&format!(
        "test command: {}\n",
        test_command.unwrap_or("none configured or detected")
    ));
    s.push_str("\n[system]\n");
    match uname() {
        Some(u) => s.push_str(&format!("uname: {u}\n")),
        None => s.push_str("uname: not available\n"),
    }
    s.push_str(&format!("os: {}\n", os_release()));
    s
}

/// Size, use and free space as `df` counts them (space reserved for root
/// counts as neither used nor available).
fn disk(path: &Path) -> anyhow::Result<String> {
    let st = rustix::fs::statvfs(path).map_err(std::io::Error::from)?;
    let frsize = st.f_frsize as f64;
    let size = st.f_blocks as f64 * frsize;
    let used = st.f_blocks.saturating_sub(st.f_bfree) as f64 * frsize;
    let avail = st.f_bavail as f64 * frsize;
    let percent = if used + avail <= 0.0 {
        0.0
    } else {
        used * 100.0 / (used + avail)
    };
    Ok(format!(
        "size: {}\nused: {} ({percent:.0}%)\navailable: {}\n",
        human_bytes(size),
        human_bytes(used),
        human_bytes(avail)
    ))
}

fn human_bytes(n: f64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut value = n;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n:.0} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// The lines of /proc/meminfo that matter.
fn memory() -> String {
    let Ok(text) = std::fs::read_to_string("/proc/meminfo") else {
        return "not available on this system\n".to_string();
    };
    let wanted = ["MemTotal", "MemAvailable", "SwapTotal", "SwapFree"];
    let mut out = String::new();
    for line in text.lines() {
        if let Some((key, value)) = line.split_once(':') {
            if wanted.contains(&key.trim()) {
                out.push_str(&format!("{}: {}\n", key.trim(), value.trim()));
            }
        }
    }
    if out.is_empty() {
        out.push_str("no memory figures in /proc/meminfo\n");
    }
    out
}

/// `Linux 6.1.0-18-amd64 #1 SMP … x86_64`.
fn uname() -> Option<String> {
    let u = rustix::system::uname();
    let field = |f: &CStr| f.to_string_lossy().into_owned();
    Some(format!(
        "{} {} {} {}",
        field(u.sysname()),
        field(u.release()),
        field(u.version()),
        field(u.machine())
    ))
}

/// `PRETTY_NAME` of /etc/os-release (or /usr/lib/os-release).
fn os_release() -> String {
    for path in ["/etc/os-release", "/usr/lib/os-release"] {
        if let Ok(text) = std::fs::read_to_string(path) {
            if let Some(name) = os_release_name(&text) {
                return name;
            }
        }
    }
    "unknown (no /etc/os-release)".to_string()
}

fn os_release_name(text: &str) -> Option<String> {
    let value = |key: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
            .map(|v| v.trim().trim_matches('"').trim_matches('\'').to_string())
            .filter(|v| !v.is_empty())
    };
    value("PRETTY_NAME").or_else(|| value("NAME"))
}

#[cfg(test)]
mod tests {
    use super::{human_bytes, os_release_name};

    #[test]
    fn sizes_read_like_df_h() {
        assert_eq!(human_bytes(512.0), "512 B");
        assert_eq!(human_bytes(1.5 * 1024.0 * 1024.0 * 1024.0), "1.5 GiB");
    }

    #[test]
    fn os_release_pretty_name() {
        let text = "NAME=\"Debian GNU/Linux\"\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n";
        assert_eq!(
            os_release_name(text).as_deref(),
            Some("Debian GNU/Linux 12 (bookworm)")
        );
        assert_eq!(os_release_name("NAME=Alpine\n").as_deref(), Some("Alpine"));
        assert_eq!(os_release_name("ID=x\n"), None);
    }
}
