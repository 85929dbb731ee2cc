use std::io::Write;
use std::path::Path;

use anyhow::{Context, bail};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};

const NONCE_LEN: usize = 24;

/// Encrypts credentials at rest (XChaCha20-Poly1305; a fresh random nonce per value).
#[derive(Clone)]
pub struct Cipher {
    aead: XChaCha20Poly1305,
}

impl Cipher {
    pub fn new(key: &[u8; 32]) -> Self {
        Self {
            aead: XChaCha20Poly1305::new(Key::from_slice(key)),
        }
    }

    /// Reads the base64 key file, or creates it readable by its owner only.
    pub fn load_or_create(path: &Path) -> anyhow::Result<Self> {
        match std::fs::read_to_string(path) {
            Ok(text) => {
                let bytes = STANDARD
                    .decode(text.trim())
                    .with_context(|| format!("{} is not base64", path.display()))?;
                let Ok(key) = <[u8; 32]>::try_from(bytes.as_slice()) else {
                    bail!("{} must hold a 32-byte key", path.display());
                };
                Ok(Self::new(&key))
            }
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                let key: [u8; 32] = XChaCha20Poly1305::generate_key(&mut OsRng).into();
                match create_private(path, STANDARD.encode(key).as_bytes()) {
                    Ok(()) => Ok(Self::new(&key)),
                    // Another process starting at the same time made it first: theirs it is.
                    Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {
                        Self::load_or_create(path)
                    }
                    Err(error) => {
                        Err(error).with_context(|| format!("creating {}", path.display()))
                    }
                }
            }
            Err(error) => Err(error).with_context(|| format!("reading {}", path.display())),
        }
    }

    /// `nonce || ciphertext`.
    pub fn seal(&self, plaintext: &str) -> Vec<u8> {
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let ciphertext = self
            .aead
            .encrypt(&nonce, plaintext.as_bytes())
            .expect("encryption cannot fail for in-memory input");
        [nonce.as_slice(), &ciphertext].concat()
    }

    pub fn open(&self, sealed: &[u8]) -> anyhow::Result<String> {
        if sealed.len() < NONCE_LEN {
            bail!("sealed value too short");
        }
        let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
        let plaintext = self
            .aead
            .decrypt(XNonce::from_slice(nonce), ciphertext)
            .map_err(|_| anyhow::anyhow!("sealed value does not open with this key"))?;
        String::from_utf8(plaintext).context("sealed value is not text")
    }
}

/// Creates `path` (mode 0600) holding `contents`, whole or not at all: it
/// is written under a random name of its own, then linked into place, which
/// fails with `AlreadyExists` if another process got there first. So a
/// process starting beside another never reads a key half written.
fn create_private(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let mut draft = path.as_os_str().to_owned();
    draft.push(format!(".{:016x}.new", rand::random::<u64>()));
    let draft = std::path::PathBuf::from(draft);
    let written = (|| {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&draft)?;
        file.write_all(contents)?;
        file.sync_all()?;
        std::fs::hard_link(&draft, path)
    })();
    let _ = std::fs::remove_file(&draft);
    written
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_text_opens_with_the_same_key_only() {
        let cipher = Cipher::new(&[7; 32]);
        let sealed = cipher.seal("hunter2");
        assert!(!sealed.windows(7).any(|w| w == b"hunter2"));
        assert_eq!(cipher.open(&sealed).unwrap(), "hunter2");
        assert!(Cipher::new(&[8; 32]).open(&sealed).is_err());
    }

    #[test]
    fn processes_starting_at_once_all_take_the_one_key_created() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret.key");
        let ciphers: Vec<Cipher> = std::thread::scope(|scope| {
            let starts: Vec<_> = (0..8)
                .map(|_| scope.spawn(|| Cipher::load_or_create(&path).unwrap()))
                .collect();
            starts.into_iter().map(|s| s.join().unwrap()).collect()
        });
        let sealed = ciphers[0].seal("shared");
        for cipher in &ciphers {
            assert_eq!(cipher.open(&sealed).unwrap(), "shared");
        }
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(left.len(), 1, "no draft left behind");
    }

    #[test]
    fn the_key_file_is_created_private_and_read_back() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys/secret.key");
        let sealed = Cipher::load_or_create(&path).unwrap().seal("x");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(
            Cipher::load_or_create(&path)
                .unwrap()
                .open(&sealed)
                .unwrap(),
            "x"
        );
    }
}
