//! Atomic writes: a failure leaves the target as it was and no temporary file behind.

// Test helpers outside #[test] functions may unwrap and panic too.
#![allow(clippy::unwrap_used, clippy::panic)]

use bragg_io::{write_atomic, Error};
use std::io::Write;

#[test]
fn success_replaces_content() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.txt");
    std::fs::write(&path, "old").unwrap();
    write_atomic(&path, |w: &mut dyn Write| w.write_all(b"new")).unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "new");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn failure_midway_leaves_old_file_and_no_temp() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.txt");
    std::fs::write(&path, "old").unwrap();
    let e = write_atomic(&path, |w: &mut dyn Write| {
        w.write_all(&[b'x'; 100_000])?;
        Err(std::io::Error::other("disk full (simulated)"))
    })
    .unwrap_err();
    assert!(matches!(e, Error::Io { .. }));
    assert!(e.to_string().contains("a.txt") && e.to_string().contains("simulated"), "{e}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "old");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "temporary file removed");
    // A new file that fails is never created.
    let fresh = dir.path().join("b.txt");
    assert!(write_atomic(&fresh, |_w: &mut dyn Write| Err(std::io::Error::other("no"))).is_err());
    assert!(!fresh.exists());
}

#[cfg(unix)]
#[test]
fn new_files_are_world_readable_and_permissions_kept() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.txt");
    write_atomic(&path, |w: &mut dyn Write| w.write_all(b"1")).unwrap();
    assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o644);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    write_atomic(&path, |w: &mut dyn Write| w.write_all(b"2")).unwrap();
    assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
}

#[test]
fn missing_directory_is_io_error_naming_the_path() {
    let e = write_atomic(std::path::Path::new("/nonexistent/dir/out.txt"), |w: &mut dyn Write| {
        w.write_all(b"x")
    })
    .unwrap_err();
    assert!(e.to_string().starts_with("/nonexistent/dir/out.txt:"), "{e}");
}
