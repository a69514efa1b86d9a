//! Human output that no name, message or path can turn into terminal commands or forged lines:
//! control characters are written as escapes, as `ls` and `git` show them. JSON and runner
//! arguments are written exactly and never pass through here.

use std::borrow::Cow;
use std::io::{self, Write};

/// `s` with every control character written as a Rust escape (`\n`, `\u{1b}`): for one field,
/// such as a table cell or a name on a line of its own.
pub fn shown(s: &str) -> Cow<'_, str> {
    if !s.chars().any(char::is_control) {
        return Cow::Borrowed(s);
    }
    Cow::Owned(s.chars().map(|c| if c.is_control() { c.escape_default().to_string() } else { c.to_string() }).collect())
}

/// A writer that passes text through but writes control characters as `\u{…}` escapes, except
/// the line breaks and tabs of the layout itself. C1 controls (U+0080–U+009F, which some
/// terminals obey as well) are escaped too; a write that ends between the two bytes of one is
/// finished by the next.
pub struct Escaped<W: Write> {
    inner: W,
    /// The first byte of a two-byte UTF-8 sequence whose second byte has not come yet.
    pending: Option<u8>,
}

impl<W: Write> Escaped<W> {
    pub fn new(inner: W) -> Escaped<W> {
        Escaped { inner, pending: None }
    }

    fn escape(&mut self, c: u32) -> io::Result<()> {
        write!(self.inner, "\\u{{{c:x}}}")
    }
}

impl<W: Write> Write for Escaped<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut start = 0;
        let mut i = 0;
        if let Some(lead) = self.pending.take() {
            match buf.first() {
                Some(&next) if lead == 0xC2 && (0x80..=0x9F).contains(&next) => {
                    self.escape(u32::from(next))?;
                    i = 1;
                    start = 1;
                }
                Some(_) => self.inner.write_all(&[lead])?,
                None => {
                    self.pending = Some(lead);
                    return Ok(0);
                }
            }
        }
        while i < buf.len() {
            let b = buf[i];
            let c0 = (b < 0x20 && b != b'\n' && b != b'\t') || b == 0x7F;
            if c0 {
                self.inner.write_all(&buf[start..i])?;
                self.escape(u32::from(b))?;
                start = i + 1;
            } else if b == 0xC2 {
                match buf.get(i + 1) {
                    Some(&next) if (0x80..=0x9F).contains(&next) => {
                        self.inner.write_all(&buf[start..i])?;
                        self.escape(u32::from(next))?;
                        i += 1;
                        start = i + 1;
                    }
                    Some(_) => {}
                    None => {
                        self.inner.write_all(&buf[start..i])?;
                        self.pending = Some(b);
                        return Ok(buf.len());
                    }
                }
            }
            i += 1;
        }
        self.inner.write_all(&buf[start..])?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if let Some(lead) = self.pending.take() {
            self.inner.write_all(&[lead])?;
        }
        self.inner.flush()
    }
}

impl<W: Write> Drop for Escaped<W> {
    fn drop(&mut self) {
        let _ = self.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn through(pieces: &[&[u8]]) -> String {
        let mut out = Vec::new();
        {
            let mut w = Escaped::new(&mut out);
            for p in pieces {
                w.write_all(p).unwrap();
            }
        }
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn control_characters_are_escaped_and_the_layout_is_kept() {
        assert_eq!(through(&[b"a\x1b]0;pwned\x07b\rc\n\td"]), "a\\u{1b}]0;pwned\\u{7}b\\u{d}c\n\td");
        // A C1 control (U+009B, CSI) split across two writes, and ordinary two-byte characters.
        assert_eq!(through(&[b"x\xC2", b"\x9By \xC3\xA9 \xC2", b"\xA9"]), "x\\u{9b}y é ©");
        assert_eq!(shown("a\nb\u{1b}"), "a\\nb\\u{1b}");
        assert_eq!(shown("plain"), "plain");
    }
}
