//! Versions written into every report and artifact. The dependency versions
//! are pinned with `=` in the workspace `Cargo.toml`, so these constants
//! cannot drift from what is compiled in; a test checks them against
//! `Cargo.lock`.

pub const ANNEAL: &str = env!("CARGO_PKG_VERSION");
pub const BURN: &str = "0.22.1";
pub const POLARS: &str = "0.55.2";

#[cfg(test)]
mod tests {
    /// The version `Cargo.lock` (`text`) records for the package `name`,
    /// when it records exactly one.
    fn locked(text: &str, name: &str) -> Option<String> {
        let header = format!("name = \"{name}\"");
        let mut found = text
            .split("[[package]]")
            .filter(|block| block.lines().any(|l| l.trim() == header))
            .filter_map(|block| {
                block.lines().find_map(|l| {
                    let v = l.trim().strip_prefix("version = \"")?;
                    Some(v.strip_suffix('"')?.to_string())
                })
            });
        let first = found.next()?;
        found.next().is_none().then_some(first)
    }

    #[test]
    fn recorded_versions_are_the_locked_ones() {
        // The checkout that runs the test, as cargo sets it at run time: the
        // shared build folder may hold a binary compiled in another checkout
        // (the compile-time path), which cargo reuses when nothing changed.
        let dir = std::env::var("CARGO_MANIFEST_DIR")
            .unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").to_string());
        let path = std::path::Path::new(&dir).join("../../Cargo.lock");
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        for (name, recorded) in [
            ("anneal", super::ANNEAL),
            ("burn", super::BURN),
            ("polars", super::POLARS),
        ] {
            assert_eq!(
                locked(&text, name).as_deref(),
                Some(recorded),
                "{name}: versions.rs records {recorded}, Cargo.lock differs"
            );
        }
    }

    #[test]
    fn locked_reads_one_package() {
        let text = "[[package]]\nname = \"a\"\nversion = \"1.2.3\"\n\n[[package]]\nname = \"ab\"\nversion = \"9.9.9\"\n";
        assert_eq!(locked(text, "a").as_deref(), Some("1.2.3"));
        assert_eq!(locked(text, "b"), None);
    }
}
