//! JUnit XML, in the dialects real tools write.
//!
//! One parser serves them all; the dialects differ in where they put a test's identity and how
//! they show retries:
//! - pytest, Surefire, Gradle, go-junit-report, gotestsum, nextest: `classname` + `name`;
//! - jest-junit: `classname` equal to `name` (the full title), grouped by the `<testsuite>`;
//! - Surefire and nextest retries: `<flakyFailure>`/`<flakyError>` (failed, then passed) and
//!   `<rerunFailure>`/`<rerunError>` (failed again) inside the final `<testcase>`;
//! - pytest-rerunfailures and Gradle's test-retry plugin: one `<testcase>` per attempt, folded
//!   together by [`ResultSet`].

use std::borrow::Cow;
use std::path::Path;

use quick_xml::XmlVersion;
use quick_xml::events::{BytesStart, Event};
use quick_xml::reader::Reader;

use super::error::InputError;
use super::report::{MAX_DURATION_S, Outcome, ResultSet, TestResult, name_too_long, parse_seconds, short_message};
use super::text::line_of;
use super::wellformed::{self, Malformed};

/// The elements whose nesting matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tag {
    Testsuites,
    Testsuite,
    Testcase,
    Other,
}

impl Tag {
    fn of(name: &str) -> Tag {
        match name {
            "testsuites" => Tag::Testsuites,
            "testsuite" => Tag::Testsuite,
            "testcase" => Tag::Testcase,
            _ => Tag::Other,
        }
    }
}

/// The name of the element whose start tag begins at `offset`.
fn element_name_at(text: &str, offset: usize) -> &str {
    let rest = text[offset..].trim_start().trim_start_matches('<');
    let end = rest.find(|c: char| c.is_whitespace() || c == '>' || c == '/').unwrap_or(rest.len());
    let name = &rest[..end];
    name.rsplit(':').next().unwrap_or(name)
}

/// A `<testcase>` being read.
struct Case {
    suite: Option<String>,
    id: String,
    file: Option<String>,
    duration_s: Option<f64>,
    outcome: Outcome,
    attempts: u32,
    message: Option<String>,
    /// The text of a `<failure>`/`<error>` without a useful message attribute, being read to
    /// take its first line instead (jest-junit writes none; go-junit-report writes "Failed").
    failure_text: Option<FailureText>,
}

struct FailureText {
    /// Depth of the open-element stack at which the element ends.
    depth: usize,
    text: String,
    /// What to use if the text is empty: the generic message or the `type` attribute.
    fallback: Option<String>,
}

/// Enough of a failure's text to find its first line.
const FAILURE_TEXT_MAX: usize = 2000;

impl Case {
    fn finish(self) -> TestResult {
        TestResult {
            id: self.id,
            suite: self.suite,
            file: self.file,
            outcome: self.outcome,
            duration_s: self.duration_s,
            attempts: self.attempts,
            message: self.message,
        }
    }
}

/// Parses JUnit XML `text` read from `path` into `into`.
pub fn parse(path: &Path, text: &str, into: &mut ResultSet) -> Result<(), InputError> {
    // Real reports spend 80 to 300 bytes on a test case; room for the short end avoids copying
    // the results over and over as they grow.
    into.reserve(text.len() / 100);
    let err_at = |offset: u64, reason: String| InputError::invalid(path, Some(line_of(text, offset as usize)), reason);
    if let Some((at, c)) = wellformed::first_bad_char(text) {
        return Err(err_at(at as u64, Malformed::Char(c).to_string()));
    }
    let mut reader = Reader::from_str(text);
    reader.config_mut().check_comments = true;
    let mut walk = Walk { into, open: Vec::new(), suites: Vec::new(), case: None, saw_root: false, doctype: false };
    loop {
        let start = reader.buffer_position();
        let event = reader.read_event().map_err(|e| err_at(reader.error_position(), format!("malformed XML: {e}")))?;
        let inside = !walk.open.is_empty();
        let done = match event {
            Event::Start(ref e) => walk.element(e, false, start),
            Event::Empty(ref e) => walk.element(e, true, start),
            Event::Text(ref t) if !inside => {
                let t = t.xml_content(XmlVersion::Implicit1_0);
                let rest = t.trim_start_matches('\u{feff}').trim_ascii_start();
                if !rest.is_empty() {
                    let at = start + (t.len() - rest.len()) as u64;
                    return Err(err_at(at, Malformed::OutsideRoot.to_string()));
                }
                Ok(())
            }
            Event::CData(_) | Event::GeneralRef(_) if !inside => Err(Malformed::OutsideRoot.into()),
            Event::Text(ref t) => {
                let t = t.xml_content(XmlVersion::Implicit1_0);
                if let Some(at) = wellformed::cdata_end(&t) {
                    return Err(err_at(start + at as u64, Malformed::CdataEnd.to_string()));
                }
                collect_failure_text(&mut walk.case, &t);
                Ok(())
            }
            Event::CData(ref t) => {
                collect_failure_text(&mut walk.case, &t.xml_content(XmlVersion::Implicit1_0));
                Ok(())
            }
            Event::GeneralRef(ref r) => walk.reference(r),
            Event::End(_) => walk.end(),
            Event::Decl(ref d) => {
                let at_start = start == 0 || (start == 3 && text.starts_with('\u{feff}'));
                wellformed::check_decl(d, at_start).map_err(Into::into)
            }
            Event::DocType(_) if walk.saw_root || walk.doctype => Err(Malformed::Doctype.into()),
            Event::DocType(_) => {
                walk.doctype = true;
                Ok(())
            }
            Event::Eof => break,
            Event::PI(ref p) => wellformed::check_pi(p).map_err(Into::into),
            Event::Comment(_) => Ok(()),
        };
        done.map_err(|e| err_at(start, e.to_string()))?;
    }
    if let Some(&(_, at)) = walk.open.last() {
        return Err(InputError::invalid(
            path,
            Some(line_of(text, text.len())),
            format!(
                "truncated: the file ends inside <{}> opened at line {}",
                element_name_at(text, at as usize),
                line_of(text, at as usize)
            ),
        ));
    }
    if !walk.saw_root {
        return Err(InputError::invalid(path, None, "no XML element in the file: not a JUnit report"));
    }
    Ok(())
}

/// Where a parse is: the elements open (with the offset each started at, for messages about
/// truncation; quick-xml checks that end tags match), the suites around, the case being read.
struct Walk<'r> {
    into: &'r mut ResultSet,
    open: Vec<(Tag, u64)>,
    suites: Vec<String>,
    case: Option<Case>,
    saw_root: bool,
    doctype: bool,
}

impl Walk<'_> {
    /// A start tag, or an empty element, at byte `start`.
    fn element(&mut self, e: &BytesStart<'_>, is_empty: bool, start: u64) -> Result<(), ElementError> {
        let name = e.local_name();
        let tag = Tag::of(name.into_inner());
        // A test case's attributes are checked as read_case reads them.
        wellformed::check_start(e, tag != Tag::Testcase)?;
        if self.open.is_empty() {
            self.root(tag, name.into_inner())?;
        }
        match tag {
            Tag::Testsuite if self.case.is_none() => {
                if !is_empty {
                    self.suites.push(attr(e, "name")?.unwrap_or_default());
                }
            }
            Tag::Testcase => {
                if self.case.is_some() {
                    return Err(ElementError::NestedCase);
                }
                let new = read_case(e, self.suites.last().map(String::as_str))?;
                if is_empty {
                    self.into.add(new.finish());
                } else {
                    self.case = Some(new);
                }
            }
            _ => {
                if let Some(case) = self.case.as_mut() {
                    apply_child(case, name.into_inner(), e)?;
                    if let Some(ft) = case.failure_text.as_mut().filter(|ft| ft.depth == 0) {
                        if is_empty {
                            case.message = ft.fallback.as_deref().and_then(short_message);
                            case.failure_text = None;
                        } else {
                            ft.depth = self.open.len() + 1;
                        }
                    }
                }
            }
        }
        if !is_empty {
            self.open.push((tag, start));
        }
        Ok(())
    }

    /// The root element: one, and a JUnit one.
    fn root(&mut self, tag: Tag, name: &str) -> Result<(), ElementError> {
        if self.saw_root {
            return Err(ElementError::SecondRoot(name.to_string()));
        }
        if !matches!(tag, Tag::Testsuites | Tag::Testsuite) {
            return Err(ElementError::NotJunit(name.to_string()));
        }
        self.saw_root = true;
        Ok(())
    }

    /// A character or entity reference in text: resolved into the failure text being read, or
    /// refused (see `wellformed`).
    fn reference(&mut self, r: &quick_xml::events::BytesRef<'_>) -> Result<(), ElementError> {
        let c = wellformed::reference(r)?;
        collect_failure_text(&mut self.case, c.encode_utf8(&mut [0; 4]));
        Ok(())
    }

    /// An end tag.
    fn end(&mut self) -> Result<(), ElementError> {
        match self.open.pop() {
            Some((Tag::Testcase, _)) => {
                if let Some(done) = self.case.take() {
                    self.into.add(done.finish());
                }
            }
            Some((Tag::Testsuite, _)) if self.case.is_none() => {
                self.suites.pop();
            }
            Some(_) => {
                let depth = self.open.len() + 1;
                if let Some(case) = self.case.as_mut() {
                    if case.failure_text.as_ref().is_some_and(|ft| ft.depth == depth) {
                        let ft = case.failure_text.take().expect("checked above");
                        // go test's own framing lines (gotestsum copies them in) say nothing.
                        let first_line = ft
                            .text
                            .lines()
                            .map(str::trim)
                            .find(|l| !l.is_empty() && !l.starts_with("=== ") && !l.starts_with("--- "));
                        case.message = first_line.or(ft.fallback.as_deref()).and_then(short_message);
                    }
                }
            }
            None => return Err(ElementError::EndWithoutStart),
        }
        Ok(())
    }
}

/// What is wrong with one element of a report (the message after `file:line: `).
#[derive(Debug, thiserror::Error)]
enum ElementError {
    #[error("bad attribute in <testcase>: {0}")]
    Attribute(quick_xml::events::attributes::AttrError),
    #[error("bad attribute value {key}: {source}")]
    Value { key: String, source: quick_xml::Error },
    #[error("a <testcase> without a name attribute")]
    NoName,
    #[error("time={0:?} is not a duration in seconds (0 to {MAX_DURATION_S})")]
    Time(String),
    #[error("more than one root element (<{0}>)")]
    SecondRoot(String),
    #[error("not a JUnit report: the root element is <{0}>, not <testsuites> or <testsuite>")]
    NotJunit(String),
    #[error("a <testcase> inside another <testcase>")]
    NestedCase,
    #[error("an end tag with no start tag")]
    EndWithoutStart,
    #[error(transparent)]
    Malformed(#[from] Malformed),
    #[error("{0}")]
    NameTooLong(String),
}

fn read_case(e: &BytesStart<'_>, suite: Option<&str>) -> Result<Case, ElementError> {
    // Values stay borrowed from the report unless they hold escapes.
    let mut name: Option<Cow<'_, str>> = None;
    let mut classname: Option<Cow<'_, str>> = None;
    let mut file: Option<Cow<'_, str>> = None;
    let mut time: Option<Cow<'_, str>> = None;
    for a in e.attributes() {
        let a = a.map_err(ElementError::Attribute)?;
        wellformed::check_attribute(&a)?;
        let slot = match a.key.local_name().into_inner() {
            "name" => &mut name,
            "classname" => &mut classname,
            "file" => &mut file,
            "time" => &mut time,
            _ => continue,
        };
        let value = a
            .normalized_value(XmlVersion::Implicit1_0)
            .map_err(|source| ElementError::Value { key: "in <testcase>".into(), source })?;
        *slot = Some(value);
    }
    let name = name.ok_or(ElementError::NoName)?;
    let duration_s = match time.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(raw) => Some(parse_seconds(raw).ok_or_else(|| ElementError::Time(raw.to_string()))?),
    };
    let file = file.filter(|f| !f.trim().is_empty());
    let (suite, id) = junit_id(suite, classname.as_deref(), &name, file.as_deref());
    if let Some(why) = name_too_long(&id) {
        return Err(ElementError::NameTooLong(why));
    }
    Ok(Case {
        suite,
        id,
        file: file.map(Cow::into_owned),
        duration_s,
        outcome: Outcome::Pass,
        attempts: 1,
        message: None,
        failure_text: None,
    })
}

/// The stable id of a JUnit test case: `classname::name`; when the classname is missing or only
/// repeats the name (jest-junit), the test's file or else its `<testsuite>` stands in for it.
fn junit_id(suite: Option<&str>, classname: Option<&str>, name: &str, file: Option<&str>) -> (Option<String>, String) {
    let name = name.trim();
    let group = match classname.map(str::trim) {
        Some(c) if !c.is_empty() && c != name => Some(c),
        _ => file.or(suite).map(str::trim).filter(|g| !g.is_empty()),
    };
    match group {
        Some(group) => {
            let mut id = String::with_capacity(group.len() + 2 + name.len());
            id.push_str(group);
            id.push_str("::");
            id.push_str(name);
            (Some(group.to_string()), id)
        }
        None => (None, name.to_string()),
    }
}

fn apply_child(case: &mut Case, tag: &str, e: &BytesStart<'_>) -> Result<(), ElementError> {
    match tag {
        "failure" | "error" => {
            let outcome = if tag == "error" { Outcome::Error } else { Outcome::Fail };
            // An error outranks a failure when a tool writes both.
            if case.outcome != Outcome::Error {
                case.outcome = outcome;
            }
            if case.message.is_none() && case.failure_text.is_none() {
                let message = attr(e, "message")?.filter(|m| !is_generic(m));
                match message {
                    Some(m) => case.message = short_message(&m),
                    None => {
                        let non_empty = |v: Option<String>| v.filter(|t| !t.trim().is_empty());
                        let fallback = non_empty(attr(e, "type")?).or(non_empty(attr(e, "message")?));
                        case.failure_text = Some(FailureText { depth: 0, text: String::new(), fallback });
                    }
                }
            }
        }
        "skipped" if !case.outcome.is_failure() => case.outcome = Outcome::Skip,
        "flakyFailure" | "flakyError" | "rerunFailure" | "rerunError" => case.attempts += 1,
        _ => {}
    }
    Ok(())
}

/// Adds text to the failure text being read, if any.
fn collect_failure_text(case: &mut Option<Case>, text: &str) {
    if let Some(ft) = case.as_mut().and_then(|c| c.failure_text.as_mut()) {
        if ft.depth > 0 && ft.text.len() < FAILURE_TEXT_MAX {
            ft.text.push_str(text);
        }
    }
}

/// Messages that say nothing the outcome does not.
fn is_generic(message: &str) -> bool {
    matches!(message.trim(), "" | "Failed" | "failed" | "FAILED")
}

fn attr(e: &BytesStart<'_>, key: &str) -> Result<Option<String>, ElementError> {
    match e.try_get_attribute(key) {
        Ok(Some(a)) => a
            .normalized_value(XmlVersion::Implicit1_0)
            .map(|v| Some(v.into_owned()))
            .map_err(|source| ElementError::Value { key: format!("of attribute {key}"), source }),
        Ok(None) => Ok(None),
        Err(err) => Err(ElementError::Attribute(err)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(xml: &str) -> Result<Vec<TestResult>, String> {
        let mut set = ResultSet::default();
        parse(Path::new("t.xml"), xml, &mut set).map_err(|e| e.to_string())?;
        Ok(set.into_results())
    }

    #[test]
    fn ids_follow_classname_then_file_then_suite() {
        assert_eq!(junit_id(Some("s"), Some("a.B"), "t", None), (Some("a.B".into()), "a.B::t".into()));
        assert_eq!(junit_id(Some("s"), Some("x y"), "x y", None), (Some("s".into()), "s::x y".into()));
        assert_eq!(junit_id(Some("s"), Some("x"), "x", Some("f.js")), (Some("f.js".into()), "f.js::x".into()));
        assert_eq!(junit_id(None, None, " t ", None), (None, "t".into()));
    }

    #[test]
    fn outcomes_and_retry_elements() {
        let xml = r#"<testsuite name="s">
            <testcase classname="C" name="pass" time="0.5"/>
            <testcase classname="C" name="fail"><failure message="boom"/><rerunFailure/></testcase>
            <testcase classname="C" name="err"><error type="Oops"/></testcase>
            <testcase classname="C" name="skip"><skipped/></testcase>
            <testcase classname="C" name="flaky"><flakyFailure/><flakyError/></testcase>
        </testsuite>"#;
        let r = parse_str(xml).unwrap();
        let got: Vec<_> = r.iter().map(|t| (t.id.as_str(), t.outcome, t.attempts)).collect();
        assert_eq!(
            got,
            [
                ("C::pass", Outcome::Pass, 1),
                ("C::fail", Outcome::Fail, 2),
                ("C::err", Outcome::Error, 1),
                ("C::skip", Outcome::Skip, 1),
                ("C::flaky", Outcome::Pass, 3),
            ]
        );
        assert_eq!(r[0].duration_s, Some(0.5));
        assert_eq!(r[1].message.as_deref(), Some("boom"));
        assert_eq!(r[2].message.as_deref(), Some("Oops"));
    }

    #[test]
    fn truncated_file_names_the_unclosed_element() {
        let e = parse_str("<testsuites>\n<testsuite name=\"s\">\n<testcase name=\"a\"/>\n").unwrap_err();
        assert!(e.starts_with("t.xml:4: truncated: the file ends inside <testsuite> opened at line 2"), "{e}");
    }

    #[test]
    fn cut_inside_a_tag_is_malformed_with_a_line() {
        let e = parse_str("<testsuites>\n<testsuite name=\"s\">\n<testcase name=\"a").unwrap_err();
        assert!(e.starts_with("t.xml:3: malformed XML"), "{e}");
    }

    #[test]
    fn wrong_root_and_bad_time_are_rejected() {
        assert!(parse_str("<html><body/></html>").unwrap_err().contains("root element is <html>"));
        let e = parse_str("<testsuite>\n<testcase name=\"a\" time=\"soon\"/></testsuite>").unwrap_err();
        assert!(e.starts_with("t.xml:2: time=\"soon\""), "{e}");
        let e = parse_str("<testsuite><testcase classname=\"x\"/></testsuite>").unwrap_err();
        assert!(e.contains("without a name"), "{e}");
    }

    #[test]
    fn mismatched_end_tag_is_rejected() {
        let e = parse_str("<testsuite>\n<testcase name=\"a\"></testsuite>").unwrap_err();
        assert!(e.starts_with("t.xml:2: malformed XML") || e.starts_with("t.xml:2: unexpected"), "{e}");
    }

    #[test]
    fn failures_without_a_useful_message_take_the_first_line_of_their_text() {
        let xml = "<testsuite>\n<testcase classname=\"a\" name=\"jest\"><failure>\n  Error: expected 1 &amp; 2\n    at x.js:3\n</failure></testcase>\n<testcase classname=\"a\" name=\"go\"><failure message=\"Failed\"><![CDATA[    a_test.go:9: want 1]]></failure></testcase>\n<testcase classname=\"a\" name=\"typed\"><error type=\"java.io.IOException\"/></testcase>\n<testcase classname=\"a\" name=\"empty\"><failure message=\"Failed\"></failure></testcase>\n<testcase classname=\"a\" name=\"framing\"><failure message=\"Failed\" type=\"\">=== RUN   T&#xA;--- FAIL: T (0.00s)&#xA;</failure></testcase>\n</testsuite>";
        let r = parse_str(xml).unwrap();
        let messages: Vec<_> = r.iter().map(|t| t.message.as_deref()).collect();
        assert_eq!(
            messages,
            [
                Some("Error: expected 1 & 2"),
                Some("a_test.go:9: want 1"),
                Some("java.io.IOException"),
                Some("Failed"),
                Some("Failed")
            ]
        );
    }

    #[test]
    fn entities_in_names_are_unescaped() {
        let r = parse_str(r#"<testsuite><testcase classname="a" name="x &amp; &lt;y&gt;"/></testsuite>"#).unwrap();
        assert_eq!(r[0].id, "a::x & <y>");
    }

    #[test]
    fn what_is_not_well_formed_xml_is_refused_at_its_line() {
        let ok = "<testsuite><testcase classname=\"a\" name=\"x\"/></testsuite>";
        let cases = [
            ("<testsuite>\n<testcase name=\"a\u{1b}]0;x\u{7}\"/></testsuite>", 2, "character XML does not allow"),
            ("<testsuite>\n<testcase name=\"&#xD800;\"/></testsuite>", 2, "reference"),
            ("<testsuite>\n<testcase name=\"&#x1b;\"/></testsuite>", 2, "reference"),
            (
                "<testsuite><testcase name=\"a\">\n<failure>&undefined;</failure></testcase></testsuite>",
                2,
                "&undefined;",
            ),
            ("<testsuite>\n<testcase name=\"a\"><failure>&#0;</failure></testcase></testsuite>", 2, "reference"),
            (&format!("{ok}\ntrailing text"), 2, "outside the root"),
            (&format!("\n<?xml version=\"1.0\"?>{ok}"), 2, "declaration"),
            (&format!("{ok}\n<?xml version=\"1.0\"?>"), 2, "declaration"),
            ("<?xml version=\"2.0\"?>\n<testsuite/>", 1, "version"),
            ("<?xml encoding=\"UTF-8\"?><testsuite/>", 1, "declaration"),
            ("<testsuite>\n<testcase name=\"a\"time=\"1\"/></testsuite>", 2, "white space between attributes"),
            ("<testsuite>\n<1bad/></testsuite>", 2, "not an XML name"),
            ("<testsuite>\n<x a=\"<\"/></testsuite>", 2, "'<'"),
            ("<testsuite>\n<x a/></testsuite>", 2, "attribute"),
            ("<testsuite>\n<x a=\"1\" a=\"2\"/></testsuite>", 2, "attribute"),
            ("<testsuite><testcase name=\"a\">\nx ]]> y</testcase></testsuite>", 2, "']]>'"),
            ("<testsuite>\n<!-- a -- b --></testsuite>", 2, "malformed XML"),
            (&format!("{ok}\n<!DOCTYPE x>"), 2, "DOCTYPE"),
            ("<testsuite>\n<?XmL x?></testsuite>", 2, "declaration"),
        ];
        for (xml, line, reason) in cases {
            let err = parse_str(xml).expect_err(xml);
            assert!(err.starts_with(&format!("t.xml:{line}:")), "{xml:?}: {err}");
            assert!(err.contains(reason), "{xml:?}: {err}");
        }
        // What XML allows stays readable.
        for xml in [
            "\u{feff}<?xml version=\"1.0\" encoding='UTF-8' standalone=\"yes\"?>\n<!DOCTYPE testsuite>\n<!-- c --><testsuite/>\n",
            "<testsuite><testcase name=\"a&#10;b &#x41;\"><failure>x &lt; y &#233;</failure></testcase></testsuite>",
            "<testsuite><?pi data?><x:y xmlns:x=\"u\" x:z=\"1\"/><![CDATA[ ]] > ]]></testsuite>",
        ] {
            parse_str(xml).unwrap_or_else(|e| panic!("{xml:?}: {e}"));
        }
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    const NEXTEST: &str = include_str!("../../../../tests/fixtures/reports/nextest-junit.xml");
    const SUREFIRE: &str = include_str!("../../../../tests/fixtures/reports/surefire-rerun.xml");

    fn parse_str(text: &str) -> Result<usize, InputError> {
        let mut set = ResultSet::default();
        parse(Path::new("p.xml"), text, &mut set).map(|()| set.len())
    }

    proptest! {
        /// A JUnit file cut anywhere before its root element closes is refused, never stored
        /// as a shorter run.
        #[test]
        fn every_truncation_is_refused(cut in 0usize..10_000, which in 0usize..2) {
            let full = [NEXTEST, SUREFIRE][which];
            let end = full.trim_end().len();
            let mut cut = cut % end;
            while !full.is_char_boundary(cut) {
                cut -= 1;
            }
            prop_assert!(parse_str(&full[..cut]).is_err());
        }

        /// Arbitrary text never panics the parser.
        #[test]
        fn arbitrary_text_never_panics(text in "\\PC{0,400}") {
            let _ = parse_str(&text);
        }

        /// Nor does XML-ish text built from the tags that matter.
        #[test]
        fn tag_soup_never_panics(parts in prop::collection::vec(prop::sample::select(vec![
            "<testsuites>", "</testsuites>", "<testsuite name=\"s\">", "</testsuite>",
            "<testcase name=\"t\" classname=\"c\" time=\"1\">", "<testcase name=\"t\"/>", "</testcase>",
            "<failure/>", "<skipped/>", "<flakyFailure/>", "<rerunError>", "</rerunError>", "x", "&amp;",
        ]), 0..30)) {
            let _ = parse_str(&parts.concat());
        }
    }

    #[test]
    fn the_complete_files_parse() {
        assert_eq!(parse_str(NEXTEST).unwrap(), 4);
        assert_eq!(parse_str(SUREFIRE).unwrap(), 5);
    }
}
