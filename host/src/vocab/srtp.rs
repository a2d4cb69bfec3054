//! SDES-SRTP keys as plugins give them and the media engine uses them (RFC 4568).

use data_encoding::BASE64;

/// Master key length (AES-128).
pub const KEY_LEN: usize = 16;
/// Master salt length.
pub const SALT_LEN: usize = 14;

/// A crypto suite of RFC 4568.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Suite {
    /// `AES_CM_128_HMAC_SHA1_80`: 80-bit tags.
    AesCm128HmacSha1_80,
    /// `AES_CM_128_HMAC_SHA1_32`: 32-bit tags on SRTP, 80-bit on SRTCP.
    AesCm128HmacSha1_32,
}

impl Suite {
    /// The SDP name.
    pub fn name(self) -> &'static str {
        match self {
            Self::AesCm128HmacSha1_80 => "AES_CM_128_HMAC_SHA1_80",
            Self::AesCm128HmacSha1_32 => "AES_CM_128_HMAC_SHA1_32",
        }
    }

    /// The suite an SDP name stands for.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "AES_CM_128_HMAC_SHA1_80" => Some(Self::AesCm128HmacSha1_80),
            "AES_CM_128_HMAC_SHA1_32" => Some(Self::AesCm128HmacSha1_32),
            _ => None,
        }
    }
}

/// A master key and salt, as an `inline:` key carries them (base64 of the 30 bytes).
#[derive(Clone, PartialEq, Eq)]
pub struct MasterKey {
    key: [u8; KEY_LEN],
    salt: [u8; SALT_LEN],
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(…)")
    }
}

impl MasterKey {
    /// A fresh random key.
    pub fn random() -> Self {
        Self { key: rand::random(), salt: rand::random() }
    }

    /// From the base64 of key and salt (an `inline:` value without its lifetime and MKI).
    pub fn from_base64(text: &str) -> Result<Self, String> {
        let bytes =
            BASE64.decode(text.trim().as_bytes()).map_err(|_| "the SRTP key is not base64".to_owned())?;
        Self::from_bytes(&bytes)
    }

    /// From key and salt, 30 bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, String> {
        if bytes.len() != KEY_LEN + SALT_LEN {
            return Err(format!("the SRTP key has {} bytes, not {}", bytes.len(), KEY_LEN + SALT_LEN));
        }
        let mut key = Self { key: [0; KEY_LEN], salt: [0; SALT_LEN] };
        key.key.copy_from_slice(&bytes[..KEY_LEN]);
        key.salt.copy_from_slice(&bytes[KEY_LEN..]);
        Ok(key)
    }

    /// The master key.
    pub fn key(&self) -> &[u8; KEY_LEN] {
        &self.key
    }

    /// The master salt.
    pub fn salt(&self) -> &[u8; SALT_LEN] {
        &self.salt
    }

    /// The base64 of key and salt.
    pub fn to_base64(&self) -> String {
        let mut bytes = [0u8; KEY_LEN + SALT_LEN];
        bytes[..KEY_LEN].copy_from_slice(&self.key);
        bytes[KEY_LEN..].copy_from_slice(&self.salt);
        BASE64.encode(&bytes)
    }
}

/// A suite and its master key: what one direction of an SDES-SRTP stream is protected with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SrtpKey {
    /// The suite.
    pub suite: Suite,
    /// The master key and salt.
    pub key: MasterKey,
}
