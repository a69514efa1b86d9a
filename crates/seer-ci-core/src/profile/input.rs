//! Reading one profile: `perf script` output, DTrace aggregated stacks or folded stacks, plain or
//! gzip-compressed, into folded stacks with normalised frame names.
//!
//! Collapsing is inferno's (the same code as `inferno-collapse-perf`, with as many threads);
//! seer only reads its folded output back, normalises the frames and merges the stacks that
//! normalisation made equal.

use std::io::{BufRead, Read, Write};
use std::path::Path;

use hashbrown::HashMap;
use inferno::collapse::Collapse;

use super::normalize::{NormalizeOptions, normalize_frame};
use crate::collect::InputError;

/// The formats seer reads profiles in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProfileFormat {
    /// `perf script` output (of `perf record -g`).
    Perf,
    /// DTrace `ustack()`/`stack()` aggregations.
    Dtrace,
    /// Folded stacks: `frame;frame;frame COUNT` per line (inferno's and flamegraph.pl's format).
    Folded,
}

impl ProfileFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            ProfileFormat::Perf => "perf",
            ProfileFormat::Dtrace => "dtrace",
            ProfileFormat::Folded => "folded",
        }
    }
}

/// The largest profile seer reads by default: 1 GiB of text (expanded, for a `.gz`); the
/// largest real `perf script` output seer was measured on is 207 MB. The text is streamed, so
/// memory holds one line and the distinct stacks, not the text.
pub const DEFAULT_MAX_PROFILE_BYTES: u64 = 1 << 30;

/// How a profile file is read.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReadOptions {
    /// `None` detects the format from the first lines.
    pub format: Option<ProfileFormat>,
    pub normalize: NormalizeOptions,
    /// A profile larger than this (expanded, for a `.gz`) is refused.
    pub max_bytes: u64,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions { format: None, normalize: NormalizeOptions::default(), max_bytes: DEFAULT_MAX_PROFILE_BYTES }
    }
}

/// One profile's samples, by stack (root first), after normalisation.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Folded {
    /// Distinct stacks and their counts, sorted by stack. perf's are weighted by each sample's
    /// period (for cpu-clock, nanoseconds: time); folded and DTrace counts are samples.
    pub stacks: Vec<(Vec<String>, u64)>,
    /// The stacks' counts added up (weighted, as they are).
    pub samples: u64,
    /// How many samples were taken: for perf, its sample records; else `samples`.
    pub sample_count: u64,
    /// The format it was read in, and whether it was gzip-compressed (`perf`, `folded+gz`, …).
    pub source: String,
}

/// Whether `text` reads as folded stacks: its first line is a stack and a count, and none of
/// its first lines is indented (as `perf script`'s and DTrace's stack lines are). A later
/// malformed line is then the folded reader's to name.
fn looks_folded(text: &str) -> bool {
    let mut lines = text.lines().filter(|l| !l.trim().is_empty()).take(20);
    let Some(first) = lines.next() else { return false };
    let is_stack =
        |l: &str| l.rsplit_once(' ').is_some_and(|(s, n)| !s.trim().is_empty() && n.trim().parse::<u64>().is_ok());
    is_stack(first) && !first.starts_with(char::is_whitespace) && lines.all(|l| !l.starts_with(char::is_whitespace))
}

/// Whether `text` reads as DTrace output: frames written `module`function+0x…`.
fn looks_dtrace(text: &str) -> bool {
    text.lines().take(200).any(|l| {
        let t = l.trim();
        t.contains('`') && !t.contains(':')
    })
}

/// The longest line seer reads in a profile: folded stacks of deep recursion put 100,000 frames
/// on one line (about 10 MB); a line past this (a file of zeros has no line break) is refused.
pub const MAX_LINE_BYTES: usize = 64 << 20;

/// Reads the profile at `path` (format detected unless given). Streamed: a `.gz` is expanded as
/// it is read and never held whole, a plain file is memory-mapped, and what stays in memory is
/// one line and the distinct stacks (see the README's memory bounds).
pub fn read_profile(path: &Path, options: &ReadOptions) -> Result<Folded, InputError> {
    let ReadOptions { format, normalize, max_bytes } = *options;
    let read_error = |source| InputError::Read { path: path.to_path_buf(), source };
    let file = std::fs::File::open(path).map_err(read_error)?;
    let len = file.metadata().map_err(read_error)?.len();
    // Mapped rather than read: a large `perf script` file is not copied (nor its pages zeroed).
    // SAFETY: the map is read-only and private to this call; a file truncated by another process
    // while it is read could fault, as it would for any reader of a file changing under it.
    let mapped = if len > 0 { Some(unsafe { memmap2::Mmap::map(&file) }.map_err(read_error)?) } else { None };
    let raw: &[u8] = mapped.as_deref().unwrap_or(&[]);
    let gz = raw.starts_with(&[0x1f, 0x8b]);
    let too_large = || {
        let what = if gz { " once expanded" } else { "" };
        InputError::invalid(
            path,
            None,
            format!("more than {max_bytes} bytes{what}: larger than the limit on a profile"),
        )
    };
    if !gz && len > max_bytes {
        return Err(too_large());
    }
    // A decompression bomb is refused after `max_bytes`, and an endless line after
    // MAX_LINE_BYTES, not after either fills the memory.
    let over = std::rc::Rc::new(std::cell::Cell::new(None));
    let headers = std::rc::Rc::new(std::cell::Cell::new(0u64));
    let inner: Box<dyn Read + '_> = if gz { Box::new(flate2::read::MultiGzDecoder::new(raw)) } else { Box::new(raw) };
    let limited =
        Limited { inner, left: max_bytes, line: 0, over: over.clone(), headers: headers.clone(), at_line_start: true };
    let mut input = std::io::BufReader::with_capacity(1 << 16, limited);
    let refused = |over: Over| match over {
        Over::Size => too_large(),
        Over::Line => InputError::invalid(path, None, format!("a line longer than {MAX_LINE_BYTES} bytes")),
    };
    let unreadable = |e: std::io::Error| match over.get() {
        Some(o) => refused(o),
        None if gz => InputError::invalid(path, None, format!("not a readable gzip file: {e}")),
        None => InputError::Read { path: path.to_path_buf(), source: e },
    };
    // The first 64 KiB, and the whole first line however long (up to MAX_LINE_BYTES).
    let mut head = Vec::new();
    (&mut input).take(64 * 1024).read_to_end(&mut head).map_err(unreadable)?;
    if head.is_empty() {
        return Err(InputError::invalid(path, None, "empty file: no samples"));
    }
    if head.iter().take(8192).any(|&b| b == 0) {
        return Err(InputError::invalid(path, None, "binary data: give the output of `perf script`, not perf.data"));
    }
    if !head.contains(&b'\n') {
        (&mut input).take(MAX_LINE_BYTES as u64).read_until(b'\n', &mut head).map_err(unreadable)?;
    }
    let format = format.unwrap_or_else(|| {
        let first_line = memchr::memchr(b'\n', &head).map_or(head.len(), |at| at + 1);
        let head = String::from_utf8_lossy(&head[..head.len().min((64 * 1024).max(first_line))]);
        if looks_folded(&head) {
            ProfileFormat::Folded
        } else if looks_dtrace(&head) {
            ProfileFormat::Dtrace
        } else {
            ProfileFormat::Perf
        }
    });
    let whole = std::io::Cursor::new(head).chain(input);
    let mut stacks = Stacks { path, normalize, merged: HashMap::new(), line: 0, partial: Vec::new(), error: None };
    match format {
        ProfileFormat::Folded => stacks.read_lines(whole).map_err(|e| over.get().map_or(e, refused))?,
        ProfileFormat::Perf | ProfileFormat::Dtrace => {
            // inferno asserts on some malformed input (a first stack without an event): that is
            // a refused file, not a crash. Its folded output streams into `stacks`.
            let collapsed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| match format {
                ProfileFormat::Perf => {
                    inferno::collapse::perf::Folder::from(inferno::collapse::perf::Options::default())
                        .collapse(whole, &mut stacks)
                }
                _ => inferno::collapse::dtrace::Folder::from(inferno::collapse::dtrace::Options::default())
                    .collapse(whole, &mut stacks),
            }));
            let bad =
                |why: String| InputError::invalid(path, None, format!("cannot collapse as {}: {why}", format.as_str()));
            match collapsed {
                Ok(Ok(())) => stacks.finish()?,
                Ok(Err(e)) if over.get().is_some() => return Err(unreadable(e)),
                Ok(Err(e)) => return Err(stacks.error.take().unwrap_or_else(|| bad(e.to_string()))),
                Err(_) => return Err(bad("the collapser gave up on malformed stacks".into())),
            }
        }
    }
    if let Some(o) = over.get() {
        return Err(refused(o));
    }
    let samples: u64 = stacks.merged.values().sum();
    if samples == 0 {
        let what = match format {
            ProfileFormat::Folded => "no samples",
            _ => "no samples: not a `perf script` or DTrace file of stack samples, or an empty one",
        };
        return Err(InputError::invalid(path, None, what));
    }
    let mut stacks: Vec<(Vec<String>, u64)> = stacks.merged.into_iter().collect();
    stacks.sort();
    let source = if gz { format!("{}+gz", format.as_str()) } else { format.as_str().to_string() };
    // A perf sample is a header line (not indented) followed by its indented frames.
    let sample_count = if format == ProfileFormat::Perf { headers.get() } else { samples };
    Ok(Folded { stacks, samples, sample_count, source })
}

/// Which limit a profile went over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Over {
    Size,
    Line,
}

/// A reader that fails once more than `left` bytes have come through it, or a line longer than
/// MAX_LINE_BYTES, and says which in `over`.
struct Limited<R> {
    inner: R,
    left: u64,
    /// Bytes since the last line break.
    line: usize,
    over: std::rc::Rc<std::cell::Cell<Option<Over>>>,
    /// Lines that begin with neither a blank nor a line break (in `perf script`, one a sample).
    headers: std::rc::Rc<std::cell::Cell<u64>>,
    at_line_start: bool,
}

impl<R: Read> Read for Limited<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let data = &buf[..n];
        let header = |b: u8| !matches!(b, b' ' | b'\t' | b'\n' | b'\r');
        let mut count = u64::from(self.at_line_start && data.first().is_some_and(|&b| header(b)));
        count +=
            memchr::memchr_iter(b'\n', data).filter(|&at| data.get(at + 1).is_some_and(|&b| header(b))).count() as u64;
        self.headers.set(self.headers.get() + count);
        if let Some(&last) = data.last() {
            self.at_line_start = last == b'\n';
        }
        self.line = match memchr::memrchr(b'\n', &buf[..n]) {
            Some(at) => n - at - 1,
            None => self.line + n,
        };
        let over = match self.left.checked_sub(n as u64) {
            None => Over::Size,
            Some(_) if self.line > MAX_LINE_BYTES => Over::Line,
            Some(left) => {
                self.left = left;
                return Ok(n);
            }
        };
        self.over.set(Some(over));
        Err(std::io::Error::other("over a limit on profiles"))
    }
}

/// Folded stacks merged by their normalised frames, read line by line (from a file, or from
/// inferno's output as it writes it).
struct Stacks<'a> {
    path: &'a Path,
    normalize: NormalizeOptions,
    merged: HashMap<Vec<String>, u64>,
    /// Lines read so far (the number of the next one, less one).
    line: usize,
    /// A line inferno has begun writing.
    partial: Vec<u8>,
    /// Why a line written to it was refused (`Write` can only say "invalid data").
    error: Option<InputError>,
}

impl Stacks<'_> {
    /// Reads folded stacks from `input`, a line at a time, each at most MAX_LINE_BYTES.
    fn read_lines(&mut self, mut input: impl BufRead) -> Result<(), InputError> {
        let mut line = Vec::new();
        loop {
            line.clear();
            let n = (&mut input)
                .take(MAX_LINE_BYTES as u64 + 1)
                .read_until(b'\n', &mut line)
                .map_err(|source| InputError::Read { path: self.path.to_path_buf(), source })?;
            if n == 0 {
                return Ok(());
            }
            if line.len() > MAX_LINE_BYTES {
                let at = Some(self.line + 1);
                return Err(InputError::invalid(self.path, at, format!("a line longer than {MAX_LINE_BYTES} bytes")));
            }
            self.add(&line)?;
        }
    }

    /// Adds one folded line (`FRAME;FRAME COUNT`).
    fn add(&mut self, line: &[u8]) -> Result<(), InputError> {
        self.line += 1;
        let line = String::from_utf8_lossy(line);
        let line = line.trim_end();
        if line.is_empty() {
            return Ok(());
        }
        let bad = |why: &str| InputError::invalid(self.path, Some(self.line), why.to_string());
        let (stack, count) = line.rsplit_once(' ').ok_or_else(|| bad("not a folded stack (FRAME;FRAME COUNT)"))?;
        let count: u64 = count.parse().map_err(|_| bad("the sample count is not a whole number"))?;
        if stack.trim().is_empty() {
            return Err(bad("a stack with no frames"));
        }
        let frames: Vec<String> = stack.split(';').map(|f| normalize_frame(f, self.normalize).into_owned()).collect();
        *self.merged.entry(frames).or_default() += count;
        Ok(())
    }

    /// The last line written without a line break.
    fn finish(&mut self) -> Result<(), InputError> {
        let rest = std::mem::take(&mut self.partial);
        if rest.is_empty() { Ok(()) } else { self.add(&rest) }
    }
}

impl Write for Stacks<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut rest = buf;
        while let Some(at) = memchr::memchr(b'\n', rest) {
            let done = if self.partial.is_empty() {
                self.add(&rest[..at])
            } else {
                let mut line = std::mem::take(&mut self.partial);
                line.extend_from_slice(&rest[..at]);
                self.add(&line)
            };
            if let Err(e) = done {
                self.error = Some(e);
                return Err(std::io::Error::from(std::io::ErrorKind::InvalidData));
            }
            rest = &rest[at + 1..];
        }
        self.partial.extend_from_slice(rest);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &tempfile::TempDir, name: &str, bytes: &[u8]) -> std::path::PathBuf {
        let p = dir.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    }

    #[test]
    fn folded_stacks_are_merged_after_normalisation_and_bad_lines_named() {
        let dir = tempfile::tempdir().unwrap();
        let text =
            "main;app::run::h0123456789abcdef;app::parse 30\nmain;app::run::hfedcba9876543210;app::parse 12\nmain 5\n";
        let p = write(&dir, "a.folded", text.as_bytes());
        let f = read_profile(&p, &ReadOptions::default()).unwrap();
        assert_eq!(f.source, "folded");
        assert_eq!(f.samples, 47);
        assert_eq!(
            f.stacks,
            [(vec!["main".to_string()], 5), (vec!["main".into(), "app::run".into(), "app::parse".into()], 42)]
        );
        let bad = write(&dir, "b.folded", b"main;a 3\nmain;b three\n");
        let e = read_profile(&bad, &ReadOptions { format: Some(ProfileFormat::Folded), ..ReadOptions::default() })
            .unwrap_err();
        assert!(e.to_string().ends_with("b.folded:2: the sample count is not a whole number"), "{e}");
        let empty = write(&dir, "c", b"");
        assert!(read_profile(&empty, &ReadOptions::default()).unwrap_err().to_string().contains("empty file"));
    }

    #[test]
    fn dtrace_stack_aggregations_are_detected_and_collapsed() {
        // `dtrace -n 'profile-997 { @[ustack()] = count(); }'`: stacks leaf first, then a count.
        let dtrace = "\n\n              prog`app::parse::h0123456789abcdef+0x14\n              prog`main+0x20\n                7\n\n              prog`main+0x24\n                3\n";
        let dir = tempfile::tempdir().unwrap();
        let p = write(&dir, "out.stacks", dtrace.as_bytes());
        let f = read_profile(&p, &ReadOptions::default()).unwrap();
        assert_eq!(f.source, "dtrace");
        assert_eq!(f.samples, 10);
        assert_eq!(
            f.stacks,
            [(vec!["prog`main".to_string()], 3), (vec!["prog`main".into(), "prog`app::parse".into()], 7)]
        );
    }

    #[test]
    fn perf_script_is_collapsed_by_inferno_and_gzip_is_read() {
        let perf = "\
prog 1234 100.000001:     250000 cpu-clock:u:
\t    55d0c0a01234 app::parse::h0123456789abcdef+0x14 (/usr/bin/prog)
\t    55d0c0a05678 main+0x20 (/usr/bin/prog)

prog 1234 100.000251:     250000 cpu-clock:u:
\t    55d0c0a01234 app::parse::h0123456789abcdef+0x18 (/usr/bin/prog)
\t    55d0c0a05678 main+0x20 (/usr/bin/prog)

prog 1234 100.000501:     250000 cpu-clock:u:
\t    55d0c0a05678 main+0x24 (/usr/bin/prog)

";
        let dir = tempfile::tempdir().unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        std::io::Write::write_all(&mut gz, perf.as_bytes()).unwrap();
        let p = write(&dir, "perf.txt.gz", &gz.finish().unwrap());
        let f = read_profile(&p, &ReadOptions::default()).unwrap();
        assert_eq!(f.source, "perf+gz");
        // inferno weighs each sample by its period (here 250,000 ns of cpu-clock); three were taken.
        assert_eq!((f.samples, f.sample_count), (750_000, 3));
        assert_eq!(
            f.stacks,
            [
                (vec!["prog".to_string(), "main".into()], 250_000),
                (vec!["prog".into(), "main".into(), "app::parse".into()], 500_000)
            ]
        );
        let binary = write(&dir, "perf.data", b"PERFILE2\0\0\0\x01");
        assert!(read_profile(&binary, &ReadOptions::default()).unwrap_err().to_string().contains("binary"));
    }

    /// A small `.gz` that expands without end is refused at the limit, not read into memory.
    #[test]
    fn a_decompression_bomb_is_refused_at_the_limit() {
        use std::io::Write;
        let dir = tempfile::tempdir().unwrap();
        let bomb = dir.path().join("bomb.folded.gz");
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        let zeros = vec![b'0'; 1 << 20];
        for _ in 0..8 {
            gz.write_all(&zeros).unwrap();
        }
        std::fs::write(&bomb, gz.finish().unwrap()).unwrap();
        let options = ReadOptions { max_bytes: 1 << 20, ..ReadOptions::default() };
        let e = read_profile(&bomb, &options).unwrap_err().to_string();
        assert!(e.contains("more than 1048576 bytes once expanded"), "{e}");
    }

    /// Format detection reads the whole first line, so deep stacks are still folded stacks.
    #[test]
    fn a_first_line_of_100000_frames_is_read_as_folded_stacks() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("deep.folded");
        let stack = vec!["recurse"; 100_000].join(";");
        std::fs::write(&p, format!("main;{stack} 7\nmain 3\n")).unwrap();
        let f = read_profile(&p, &ReadOptions::default()).unwrap();
        assert_eq!((f.samples, f.source.as_str()), (10, "folded"));
    }
}
