//! The config and policy parsers on arbitrary text: errors, never panics.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let path = Path::new("fuzz.toml");
    if let Ok(loaded) = anneal_config::parse(&text, path) {
        // A config that parses renders and re-parses to the same config.
        let resolved = loaded.resolved_toml();
        let again = anneal_config::parse(&resolved, path)
            .unwrap_or_else(|e| panic!("resolved config does not re-parse: {e}\n{resolved}"));
        assert_eq!(again.resolved_toml(), resolved);
    }
    let _ = anneal_config::parse_policy(&text, path);
});
