//! Tests of private items: the database URL parser.

use std::path::PathBuf;

use super::path_from_url;

#[test]
fn path_from_url_accepts_paths() {
    let cases = [
        ("sqlite:///var/lib/pons/pons.db", "/var/lib/pons/pons.db"),
        ("sqlite://data/pons.db", "data/pons.db"),
        ("sqlite:pons.db", "pons.db"),
        ("/tmp/pons.db", "/tmp/pons.db"),
        ("pons.db", "pons.db"),
    ];
    for (url, path) in cases {
        let parsed = path_from_url(url).expect(url);
        assert_eq!(parsed, PathBuf::from(path), "{url}");
    }
}

#[test]
fn path_from_url_rejects_unusable() {
    for url in [
        "",
        "sqlite://",
        "sqlite::memory:",
        ":memory:",
        "sqlite://pons.db?mode=ro",
    ] {
        assert!(path_from_url(url).is_err(), "{url:?} must be rejected");
    }
}
