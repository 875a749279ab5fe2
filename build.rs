//! Build script: rebuilds the crate when a migration file is added.
//! `sqlx::migrate!` embeds `migrations/postgres` at compile time, and
//! cargo alone notices edits to embedded files but not new ones.

fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
