//! The parts of XML 1.0 well-formedness that quick-xml leaves to its user, checked on its events,
//! so that a JUnit report is read only if a strict XML parser would read it.
//!
//! quick-xml checks that end tags match and (configured so) that comments hold no `--`. Checked
//! here: characters XML does not allow, names, every attribute of every element, character and
//! entity references (XML's five entities; seer reads no DTD, so any other is refused, never
//! dropped), `]]>` in text, and what may stand outside the root element (one XML declaration,
//! first; a DOCTYPE before the root; comments, processing instructions and white space).
//! Namespace prefixes are not checked: seer reads local names, as XML 1.0 without namespaces does.

use quick_xml::events::attributes::Attribute;
use quick_xml::events::{BytesDecl, BytesPI, BytesRef, BytesStart};

/// What is wrong (the message after `file:line: `).
#[derive(Debug, thiserror::Error)]
pub enum Malformed {
    #[error("a character XML does not allow ({0:?})")]
    Char(char),
    #[error("a character reference to a character XML does not allow ({0})")]
    CharRef(String),
    #[error("&{0}; is not an entity XML defines (seer reads no DTD)")]
    Entity(String),
    #[error("{0:?} is not an XML name")]
    Name(String),
    #[error("a bad attribute: {0}")]
    Attribute(String),
    #[error("']]>' in text")]
    CdataEnd,
    #[error("the XML declaration is not at the start of the file")]
    Decl,
    #[error("a bad XML declaration: {0}")]
    BadDecl(String),
    #[error("a DOCTYPE after the root element or a second one")]
    Doctype,
    #[error("text outside the root element")]
    OutsideRoot,
}

/// Whether XML 1.0 allows `c` in a document (its `Char` production).
pub fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// The first character of `text` that XML does not allow, with its byte offset. Fast on the
/// common case: 64-byte blocks are screened for C0 controls and the lead byte of U+FFFE/U+FFFF
/// (EF BF BE/BF in UTF-8) without branching, and only a flagged block is looked at closely.
pub fn first_bad_char(text: &str) -> Option<(usize, char)> {
    let bytes = text.as_bytes();
    let suspect = |b: u8| (b < 0x20) & (b != b'\t') & (b != b'\n') & (b != b'\r') | (b == 0xEF);
    let mut from = 0;
    for block in bytes.chunks(64) {
        if block.iter().fold(false, |any, &b| any | suspect(b)) {
            for i in from..from + block.len() {
                let b = bytes[i];
                let bad = (b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r'))
                    || (b == 0xEF && bytes.get(i + 1) == Some(&0xBF) && matches!(bytes.get(i + 2), Some(0xBE | 0xBF)));
                if bad {
                    return Some((i, text[i..].chars().next().expect("a character starts at a byte found")));
                }
            }
        }
        from += block.len();
    }
    None
}

fn is_name_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_' || c == ':' || (!c.is_ascii() && !c.is_whitespace())
}

fn is_name_char(c: char) -> bool {
    is_name_start(c) || c.is_ascii_digit() || c == '-' || c == '.'
}

/// Checks an element or attribute name: XML's `Name` (with every non-ASCII letter allowed), and
/// at most one `:` between two non-empty parts, as namespaces in XML require of names.
pub fn check_name(name: &str) -> Result<(), Malformed> {
    let mut chars = name.chars();
    let is_name = chars.next().is_some_and(|c| is_name_start(c) && c != ':') && chars.all(is_name_char);
    let mut parts = name.split(':');
    let qualified = parts.all(|p| !p.is_empty()) && name.matches(':').count() <= 1;
    if is_name && qualified { Ok(()) } else { Err(Malformed::Name(excerpt(name))) }
}

/// Checks a processing instruction: its target is a name, and not `xml` in any case (reserved
/// for the declaration, which may only open the file).
pub fn check_pi(p: &BytesPI<'_>) -> Result<(), Malformed> {
    let target = p.target();
    check_name(target)?;
    if target.eq_ignore_ascii_case("xml") { Err(Malformed::Decl) } else { Ok(()) }
}

/// Checks a start tag: its name and the spacing of its attributes, and, with `attributes`, each
/// of them (see [`check_attribute`]; a caller that reads every attribute checks them itself).
pub fn check_start(e: &BytesStart<'_>, attributes: bool) -> Result<(), Malformed> {
    check_name(e.name().into_inner())?;
    check_attribute_spacing(e.attributes_raw())?;
    if attributes {
        for a in e.attributes() {
            check_attribute(&a.map_err(|err| Malformed::Attribute(err.to_string()))?)?;
        }
    }
    Ok(())
}

/// Checks one attribute: its name, no `<` in its value, and references that resolve to
/// characters XML allows.
pub fn check_attribute(a: &Attribute<'_>) -> Result<(), Malformed> {
    check_name(a.key.into_inner())?;
    match memchr::memchr2(b'<', b'&', a.value.as_bytes()).map(|at| a.value.as_bytes()[at]) {
        None => Ok(()),
        Some(b'&') if !a.value.contains('<') => check_references_in(&a.value),
        Some(_) => Err(Malformed::Attribute(format!("'<' in the value of {}", excerpt(a.key.into_inner())))),
    }
}

/// Checks the references of an attribute value (`&name;`, `&#N;`, `&#xN;`).
fn check_references_in(value: &str) -> Result<(), Malformed> {
    let mut rest = value;
    while let Some(at) = rest.find('&') {
        let after = &rest[at + 1..];
        let Some(end) = after.find(';') else {
            return Err(Malformed::Attribute("'&' that starts no reference".into()));
        };
        resolve(&after[..end])?;
        rest = &after[end + 1..];
    }
    Ok(())
}

/// What a reference's content (between `&` and `;`) stands for, if XML allows it.
fn resolve(name: &str) -> Result<char, Malformed> {
    if let Some(number) = name.strip_prefix('#') {
        let code = match number.strip_prefix('x') {
            Some(hex) if !hex.is_empty() && hex.bytes().all(|b| b.is_ascii_hexdigit()) => {
                u32::from_str_radix(hex, 16).ok()
            }
            None if !number.is_empty() && number.bytes().all(|b| b.is_ascii_digit()) => number.parse().ok(),
            _ => None,
        };
        return code
            .and_then(char::from_u32)
            .filter(|&c| is_xml_char(c))
            .ok_or_else(|| Malformed::CharRef(excerpt(name)));
    }
    match name {
        "lt" => Ok('<'),
        "gt" => Ok('>'),
        "amp" => Ok('&'),
        "apos" => Ok('\''),
        "quot" => Ok('"'),
        _ => Err(Malformed::Entity(excerpt(name))),
    }
}

/// The character a reference in text stands for, or why it is refused.
pub fn reference(r: &BytesRef<'_>) -> Result<char, Malformed> {
    resolve(&r.xml_content(quick_xml::XmlVersion::Implicit1_0))
}

/// Where text between elements (not CDATA) holds `]]>`, which XML does not allow there.
pub fn cdata_end(text: &str) -> Option<usize> {
    memchr::memchr(b']', text.as_bytes())?;
    text.find("]]>")
}

/// Checks an XML declaration; `at_start`: found at the file's very start (after a byte-order mark
/// at most), the only place it may be. It reads `xml`, then `version`, `encoding` and `standalone` in that order,
/// the first required, each `name="value"` after white space.
pub fn check_decl(d: &BytesDecl<'_>, at_start: bool) -> Result<(), Malformed> {
    if !at_start {
        return Err(Malformed::Decl);
    }
    let bad = |what: &str| Malformed::BadDecl(format!("{what} in <?{}?>", excerpt(d)));
    let mut rest = d.strip_prefix("xml").ok_or_else(|| bad("no 'xml'"))?;
    let mut expected = ["version", "encoding", "standalone"].iter();
    loop {
        let trimmed = rest.trim_start_matches([' ', '\t', '\r', '\n']);
        if trimmed.is_empty() {
            break;
        }
        if trimmed.len() == rest.len() {
            return Err(bad("no white space before a pseudo-attribute"));
        }
        let name_end = trimmed.find(|c: char| !c.is_ascii_lowercase()).unwrap_or(trimmed.len());
        let name = &trimmed[..name_end];
        if !expected.any(|e| *e == name) {
            return Err(bad(&format!("an unexpected {name:?}")));
        }
        let after = trimmed[name_end..].trim_start().strip_prefix('=').ok_or_else(|| bad("no '='"))?.trim_start();
        let quote = after.chars().next().filter(|q| matches!(q, '"' | '\'')).ok_or_else(|| bad("no quote"))?;
        let end = after[1..].find(quote).ok_or_else(|| bad("an unclosed value"))?;
        let value = &after[1..1 + end];
        let ok = match name {
            "version" => value.len() > 2 && value.starts_with("1.") && value[2..].bytes().all(|b| b.is_ascii_digit()),
            "encoding" => {
                value.starts_with(|c: char| c.is_ascii_alphabetic())
                    && value.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
            }
            _ => matches!(value, "yes" | "no"),
        };
        if !ok {
            return Err(bad(&format!("{name}={value:?}")));
        }
        rest = &after[2 + end..];
    }
    if !d.trim_start_matches("xml").trim_start().starts_with("version") {
        return Err(bad("no version"));
    }
    Ok(())
}

/// Checks that attributes are separated by white space (`a="1"b="2"` is not XML).
fn check_attribute_spacing(raw: &str) -> Result<(), Malformed> {
    let mut quote: Option<u8> = None;
    let mut closed = false;
    for &b in raw.as_bytes() {
        if closed && !b.is_ascii_whitespace() && b != b'/' {
            return Err(Malformed::Attribute("no white space between attributes".into()));
        }
        closed = false;
        match quote {
            Some(q) if b == q => {
                quote = None;
                closed = true;
            }
            Some(_) => {}
            None if b == b'"' || b == b'\'' => quote = Some(b),
            None => {}
        }
    }
    Ok(())
}

/// At most 60 characters of `s`, for a message.
pub fn excerpt(s: &str) -> String {
    match super::error::first_chars(s, 60) {
        Some(kept) => format!("{kept}…"),
        None => s.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn characters_names_and_references_follow_xml() {
        assert_eq!(first_bad_char("ok\ttext\r\n"), None);
        assert_eq!(first_bad_char("a\u{1b}]0;x"), Some((1, '\u{1b}')));
        assert_eq!(first_bad_char("ab\u{FFFE}"), Some((2, '\u{FFFE}')));
        assert_eq!(first_bad_char("é\u{FFFD}"), None);
        let long = format!("{}\u{0}", "x".repeat(130));
        assert_eq!(first_bad_char(&long), Some((130, '\u{0}')), "found in a later block");
        assert!(check_name("testcase").is_ok() && check_name("a:b-c.1").is_ok() && check_name("été").is_ok());
        assert!(check_name("1a").is_err() && check_name("").is_err() && check_name("a b").is_err());
        assert!(check_name("a:").is_err() && check_name(":a").is_err() && check_name("a:b:c").is_err());
        assert_eq!(resolve("#10").unwrap(), '\n');
        assert_eq!(resolve("#x41").unwrap(), 'A');
        assert_eq!(resolve("quot").unwrap(), '"');
        for bad in ["#xD800", "#0", "#x1b", "#xFFFE", "#", "#x", "#12a", "undefined", "#x110000"] {
            assert!(resolve(bad).is_err(), "{bad}");
        }
        assert!(check_references_in("a &amp; b &#10;").is_ok());
        assert!(check_attribute_spacing(r#" a="1" b='2'/"#).is_ok());
        assert!(check_attribute_spacing(r#" a="1"b="2""#).is_err());
        assert!(check_references_in("a & b").is_err() && check_references_in("&nope;").is_err());
    }
}
