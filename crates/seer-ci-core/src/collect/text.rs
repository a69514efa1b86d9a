//! Turns the bytes of an input file into text, rejecting what is not text with a precise place.
//!
//! Reports come from many tools and machines: UTF-8 (with or without a byte-order mark), UTF-16
//! with a byte-order mark, and XML declared as ISO-8859-1 are decoded; binary data, invalid UTF-8
//! and other declared encodings are refused, so that nothing garbled reaches the store.

use std::borrow::Cow;
use std::path::Path;

use super::error::InputError;

/// A file's bytes, mapped into memory rather than copied: reports can be tens of megabytes.
pub fn read_file(path: &Path) -> Result<FileBytes, InputError> {
    let read_err = |source| InputError::Read { path: path.to_path_buf(), source };
    let file = std::fs::File::open(path).map_err(read_err)?;
    let len = file.metadata().map_err(read_err)?.len();
    if len == 0 || !file.metadata().map_err(read_err)?.is_file() {
        // Empty files cannot be mapped; pipes and other special files are read.
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut &file, &mut bytes).map_err(read_err)?;
        return Ok(FileBytes::Read(bytes));
    }
    // SAFETY: the mapping is read-only and seer does not write the file; a report rewritten by
    // another process while seer reads it is the one way to break this, as with any reader.
    let map = unsafe { memmap2::Mmap::map(&file) }.map_err(read_err)?;
    Ok(FileBytes::Mapped(map))
}

/// The bytes of an input file.
pub enum FileBytes {
    Mapped(memmap2::Mmap),
    Read(Vec<u8>),
}

impl std::ops::Deref for FileBytes {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            FileBytes::Mapped(map) => map,
            FileBytes::Read(bytes) => bytes,
        }
    }
}

/// 1-based line number of a byte offset in `text`.
pub fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end].iter().filter(|&&b| b == b'\n').count() + 1
}

fn line_of_bytes(bytes: &[u8], offset: usize) -> usize {
    bytes[..offset.min(bytes.len())].iter().filter(|&&b| b == b'\n').count() + 1
}

/// Decodes `bytes` read from `path`; UTF-8 stays borrowed.
pub fn decode<'a>(path: &Path, bytes: &'a [u8]) -> Result<Cow<'a, str>, InputError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(InputError::invalid(path, None, "empty file: no test results in it"));
    }
    if let Some(rest) = bytes.strip_prefix(&[0xFF, 0xFE]) {
        return decode_utf16(path, rest, u16::from_le_bytes);
    }
    if let Some(rest) = bytes.strip_prefix(&[0xFE, 0xFF]) {
        return decode_utf16(path, rest, u16::from_be_bytes);
    }
    if let Some(pos) = memchr::memchr(0, bytes) {
        return Err(InputError::invalid(
            path,
            Some(line_of_bytes(bytes, pos)),
            format!("binary data (a NUL byte at offset {pos}): not a text test report"),
        ));
    }
    let bytes = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]).unwrap_or(bytes);
    if let Some(encoding) = declared_xml_encoding(bytes) {
        let lower = encoding.to_ascii_lowercase();
        match lower.as_str() {
            "utf-8" | "utf8" | "us-ascii" | "ascii" => {}
            "iso-8859-1" | "latin1" | "latin-1" | "iso8859-1" => {
                // Every byte is one code point in ISO-8859-1.
                return Ok(Cow::Owned(bytes.iter().map(|&b| b as char).collect()));
            }
            "utf-16" | "utf16" => {
                return Err(InputError::invalid(
                    path,
                    Some(1),
                    "declared UTF-16 but has no byte-order mark and is not UTF-16",
                ));
            }
            _ => {
                return Err(InputError::invalid(
                    path,
                    Some(1),
                    format!("unsupported encoding {encoding:?}: seer reads UTF-8, UTF-16 and ISO-8859-1"),
                ));
            }
        }
    }
    match std::str::from_utf8(bytes) {
        Ok(text) => Ok(Cow::Borrowed(text)),
        Err(err) => {
            let valid = err.valid_up_to();
            let is_text_like = bytes.iter().take(4096).filter(|&&b| b < 0x09).count() == 0;
            let what = if is_text_like {
                "invalid UTF-8 (wrong encoding? convert the report to UTF-8)"
            } else {
                "binary data: not a text test report"
            };
            Err(InputError::invalid(path, Some(line_of_bytes(bytes, valid)), format!("{what} at byte {valid}")))
        }
    }
}

fn decode_utf16<'a>(path: &Path, bytes: &[u8], unit: fn([u8; 2]) -> u16) -> Result<Cow<'a, str>, InputError> {
    if bytes.len() % 2 != 0 {
        return Err(InputError::invalid(path, None, "truncated UTF-16: odd number of bytes"));
    }
    let units: Vec<u16> = bytes.chunks_exact(2).map(|c| unit([c[0], c[1]])).collect();
    let mut text = String::with_capacity(units.len());
    for (i, ch) in char::decode_utf16(units.iter().copied()).enumerate() {
        match ch {
            Ok('\0') | Err(_) => {
                let line = text.matches('\n').count() + 1;
                return Err(InputError::invalid(path, Some(line), format!("invalid UTF-16 at code unit {i}")));
            }
            Ok(c) => text.push(c),
        }
    }
    // The declaration inside still says UTF-16; the XML reader reads the Rust string as UTF-8.
    Ok(Cow::Owned(text))
}

/// The `encoding` of an XML declaration at the start of `bytes`, if there is one.
fn declared_xml_encoding(bytes: &[u8]) -> Option<String> {
    let head = &bytes[..bytes.len().min(200)];
    let start = head.iter().position(|b| !b.is_ascii_whitespace())?;
    let head = &head[start..];
    if !head.starts_with(b"<?xml") {
        return None;
    }
    let end = head.windows(2).position(|w| w == b"?>")?;
    let decl = std::str::from_utf8(&head[..end]).ok()?;
    let at = decl.find("encoding")?;
    let rest = decl[at + "encoding".len()..].trim_start().strip_prefix('=')?.trim_start();
    let quote = rest.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let value = &rest[1..];
    Some(value[..value.find(quote)?].to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(bytes: &[u8]) -> String {
        match decode(Path::new("r.xml"), bytes) {
            Ok(_) => panic!("expected an error"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn utf8_bom_is_stripped() {
        let t = decode(Path::new("r"), b"\xEF\xBB\xBF<a/>").unwrap();
        assert_eq!(t, "<a/>");
    }

    #[test]
    fn utf16_le_with_bom_decodes() {
        let mut bytes = vec![0xFF, 0xFE];
        for u in "<a>é</a>".encode_utf16() {
            bytes.extend(u.to_le_bytes());
        }
        assert_eq!(decode(Path::new("r"), &bytes).unwrap(), "<a>é</a>");
    }

    #[test]
    fn latin1_declared_decodes() {
        let t = decode(Path::new("r"), b"<?xml version='1.0' encoding='ISO-8859-1'?><a n='\xE9'/>");
        assert!(t.unwrap().contains("n='é'"));
    }

    #[test]
    fn empty_and_blank_files_are_rejected() {
        assert_eq!(err(b""), "r.xml: empty file: no test results in it");
        assert_eq!(err(b" \n\t\n"), "r.xml: empty file: no test results in it");
    }

    #[test]
    fn nul_bytes_name_their_line() {
        assert!(err(b"<a>\n<b>\0</b>").starts_with("r.xml:2: binary data"), "{}", err(b"<a>\n<b>\0</b>"));
    }

    #[test]
    fn invalid_utf8_names_its_line() {
        let e = err(b"<a>\n\n<b n='\xE9'/></a>");
        assert!(e.starts_with("r.xml:3: invalid UTF-8"), "{e}");
    }

    #[test]
    fn unsupported_declared_encoding_is_named() {
        let e = err(b"<?xml version=\"1.0\" encoding=\"Shift_JIS\"?><a/>");
        assert!(e.contains("unsupported encoding \"Shift_JIS\""), "{e}");
    }

    #[test]
    fn line_of_counts_newlines() {
        assert_eq!(line_of("a\nb\nc", 0), 1);
        assert_eq!(line_of("a\nb\nc", 2), 2);
        assert_eq!(line_of("a\nb\nc", 99), 3);
    }
}
