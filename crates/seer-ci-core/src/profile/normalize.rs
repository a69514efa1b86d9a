//! Frame names made comparable across builds: a Rust symbol's hash suffix and raw addresses
//! change with every build and would split one function into many; generic arguments and
//! closures can be folded into their function on request.

use std::borrow::Cow;

/// What to fold away besides hashes and addresses (which always go).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NormalizeOptions {
    /// `Vec<T>::push` → `Vec::push` (a qualified `<A as B>::f` keeps its trait).
    pub strip_generics: bool,
    /// `parse::{{closure}}` → `parse`.
    pub strip_closures: bool,
}

/// Whether `s` is `h` followed by 16 hex digits: a legacy Rust mangling hash.
fn is_rust_hash(s: &str) -> bool {
    s.len() == 17 && s.starts_with('h') && s[1..].bytes().all(|b| b.is_ascii_hexdigit())
}

/// A frame name without what differs between builds of the same code.
pub fn normalize_frame<'a>(name: &'a str, options: NormalizeOptions) -> Cow<'a, str> {
    let mut name = Cow::Borrowed(name.trim());
    // `path::h0123456789abcdef` (possibly before a `+0x…` offset the collapser left).
    if let Some(at) = name.rfind("::h") {
        let rest = &name[at + 2..];
        let hash_end = rest.find(['+', ' ']).unwrap_or(rest.len());
        if is_rust_hash(&rest[..hash_end]) {
            name = Cow::Owned(name[..at].to_string());
        }
    }
    if name.starts_with("0x") && name[2..].bytes().all(|b| b.is_ascii_hexdigit()) && name.len() > 2 {
        return Cow::Borrowed("[unknown]");
    }
    if name.contains("+0x") {
        let cut = name.find("+0x").expect("found");
        name = Cow::Owned(name[..cut].to_string());
    }
    if options.strip_closures && name.contains("{{closure}}") {
        let parts: Vec<&str> = name.split("::").filter(|p| *p != "{{closure}}").collect();
        name = Cow::Owned(parts.join("::"));
    }
    if options.strip_generics && name.contains('<') {
        name = Cow::Owned(strip_generics(&name));
    }
    name
}

/// Removes generic argument lists (`<…>` right after a name); a `<…>` that opens a path segment
/// (`<A as B>::f`, a qualified self type) is kept, its contents stripped in turn.
fn strip_generics(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut depth_dropped = 0usize;
    let mut kept_opens: Vec<bool> = Vec::new();
    let mut prev: Option<char> = None;
    for c in name.chars() {
        match c {
            '<' => {
                // After a name or a turbofish `::`: generic arguments. At the start, or after a
                // separator: a qualified self type.
                let generic = depth_dropped > 0 || prev.is_some_and(|p| p.is_alphanumeric() || p == '_' || p == ':');
                kept_opens.push(!generic);
                if generic {
                    depth_dropped += 1;
                } else {
                    out.push(c);
                }
            }
            '>' => match kept_opens.pop() {
                Some(false) => depth_dropped -= 1,
                Some(true) => out.push(c),
                None => out.push(c),
            },
            _ if depth_dropped > 0 => {}
            _ => out.push(c),
        }
        prev = Some(c);
    }
    // A dropped turbofish leaves `::::` or a trailing `::`.
    while out.contains("::::") {
        out = out.replace("::::", "::");
    }
    out.trim_end_matches("::").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_offsets_and_addresses_go() {
        let plain = NormalizeOptions::default();
        assert_eq!(normalize_frame("semver::parse::version::h8a2f3c9d01b2e4f5", plain), "semver::parse::version");
        assert_eq!(normalize_frame("core::fmt::write::h0123456789abcdef+0x1c", plain), "core::fmt::write");
        assert_eq!(normalize_frame("0x00007f3a9c2b1e40", plain), "[unknown]");
        assert_eq!(normalize_frame("memcpy+0x12", plain), "memcpy");
        assert_eq!(normalize_frame("my::hash::hello", plain), "my::hash::hello", "not a hash");
        assert_eq!(normalize_frame("a::b::{{closure}}", plain), "a::b::{{closure}}");
    }

    #[test]
    fn generics_and_closures_fold_on_request() {
        let all = NormalizeOptions { strip_generics: true, strip_closures: true };
        assert_eq!(normalize_frame("alloc::vec::Vec<T,A>::push", all), "alloc::vec::Vec::push");
        assert_eq!(
            normalize_frame("<semver::Version as core::cmp::Ord>::cmp", all),
            "<semver::Version as core::cmp::Ord>::cmp",
            "a qualified self type keeps its trait"
        );
        assert_eq!(
            normalize_frame("<alloc::vec::Vec<u8> as core::clone::Clone>::clone", all),
            "<alloc::vec::Vec as core::clone::Clone>::clone"
        );
        assert_eq!(normalize_frame("seer::select::score::{{closure}}", all), "seer::select::score");
        assert_eq!(
            normalize_frame("std::collections::HashMap<K,V,S>::get::<str>", all),
            "std::collections::HashMap::get"
        );
        assert_eq!(normalize_frame("iter::<u8>::map", all), "iter::map");
    }
}
