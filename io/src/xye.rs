//! Powder data as text columns: 2θ (degrees), intensity and optionally its esd (`.xy`, `.xye`,
//! `.dat`, `.csv`, each possibly gzip-compressed as `.gz`).

use crate::atomic::write_atomic;
use crate::error::{Error, Result};
use crate::powder::is_gzip;
use std::borrow::Cow;
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};

/// A measured (or computed) powder pattern on a 2θ scale.
#[derive(Debug, Clone, PartialEq)]
pub struct PowderData {
    /// 2θ of each point in degrees, strictly increasing.
    pub two_theta_deg: Vec<f64>,
    /// Intensity of each point (counts or arbitrary units; may be negative after background
    /// subtraction).
    pub intensity: Vec<f64>,
    /// Standard deviation of each intensity, same units, ≥ 0, when the file has a third column.
    /// A zero esd is kept as is: the refinement excludes such points rather than invent a weight.
    pub esd: Option<Vec<f64>>,
    /// The file it was read from.
    pub source: PathBuf,
}

impl PowderData {
    /// Number of points.
    pub fn len(&self) -> usize {
        self.two_theta_deg.len()
    }

    /// Whether there are no points.
    pub fn is_empty(&self) -> bool {
        self.two_theta_deg.is_empty()
    }
}

/// Reads a 2- or 3-column powder file (see [`parse_xye`]); gzip-compressed files (by content,
/// whatever the extension) are decompressed transparently. Bytes that are not UTF-8 are
/// replaced by U+FFFD (only such lines are affected).
///
/// A file larger than [`CHUNK`] is read in chunks of that size (see [`TextSource`]): the
/// whole file is never held in memory, and the kernel's readahead overlaps the disk with the
/// parsing. From 4 MiB on, with more than one core, the chunks after the first are parsed by
/// worker threads while this one reads ahead. The result, including every message and line
/// number, is the same as [`parse_xye`] on the whole text.
pub fn read_xye(path: &Path) -> Result<PowderData> {
    let src = TextSource::open(path, CHUNK)?;
    if src.complete {
        return match std::str::from_utf8(&src.head) {
            Ok(text) => parse_xye(text, path),
            Err(_) => parse_xye(&String::from_utf8_lossy(&src.head), path),
        };
    }
    stream_xye(src, path, Decode::Lossy, CHUNK)
}

/// Size of the head of a file read before deciding how to read the rest, and of each later
/// read when a file is streamed: 1 MiB.
pub(crate) const CHUNK: usize = 1 << 20;

/// An open file whose first bytes have been read: plain, or gzip (by content, RFC 1952
/// magic number) decompressed on the fly.
pub(crate) struct TextSource {
    /// The rest of the (decompressed) content, after `head`.
    reader: Box<dyn Read + Send>,
    /// The first bytes of the (decompressed) content: the whole content when `complete`,
    /// otherwise `head_len + 1` bytes.
    pub(crate) head: Vec<u8>,
    /// Whether `head` is the whole content.
    pub(crate) complete: bool,
    /// Expected length of the whole (decompressed) content in bytes, to size the columns: the
    /// file size, or for gzip the ISIZE field of the trailer (RFC 1952 §2.3.1).
    size_hint: usize,
}

/// Reads into `buf` until it is full or the reader is exhausted; the number of bytes read.
fn read_fill(reader: &mut dyn Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match reader.read(buf.get_mut(n..).unwrap_or_default()) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

impl TextSource {
    /// Opens `path` and reads its first `head_len + 1` (decompressed) bytes, so that
    /// `complete` tells whether the content fits in `head_len` bytes.
    pub(crate) fn open(path: &Path, head_len: usize) -> Result<TextSource> {
        let io_err = |source: std::io::Error| Error::Io { path: path.to_path_buf(), source };
        let mut file = File::open(path).map_err(io_err)?;
        let len = usize::try_from(file.metadata().map_err(io_err)?.len()).unwrap_or(usize::MAX);
        let mut magic = [0u8; 2];
        let n = read_fill(&mut file, &mut magic).map_err(io_err)?;
        let gzip = is_gzip(magic.get(..n).unwrap_or_default());
        let mut size_hint = len;
        if gzip && len >= 18 {
            // ISIZE: the uncompressed length mod 2^32 of the last member, little-endian in the
            // last 4 bytes. Only a hint; at most the deflate limit of ~1032:1.
            let mut isize = [0u8; 4];
            file.seek(SeekFrom::End(-4)).map_err(io_err)?;
            file.read_exact(&mut isize).map_err(io_err)?;
            let n = u32::from_le_bytes(isize) as usize;
            size_hint =
                if n >= len { n.min(len.saturating_mul(1032)) } else { len.saturating_mul(4) };
        }
        file.seek(SeekFrom::Start(0)).map_err(io_err)?;
        let mut reader: Box<dyn Read + Send> = if gzip {
            Box::new(flate2::read::MultiGzDecoder::new(BufReader::with_capacity(1 << 16, file)))
        } else {
            Box::new(file)
        };
        let mut head = vec![0u8; head_len.saturating_add(1).min(size_hint.saturating_add(1))];
        let mut filled = read_fill(&mut reader, &mut head).map_err(io_err)?;
        // The size was only a hint (a file growing, gzip): read on up to `head_len + 1`.
        while filled == head.len() && filled <= head_len {
            head.resize((2 * filled).clamp(filled + 1, head_len + 1), 0);
            filled += read_fill(&mut reader, head.get_mut(filled..).unwrap_or_default())
                .map_err(io_err)?;
        }
        head.truncate(filled);
        Ok(TextSource { reader, complete: filled <= head_len, head, size_hint })
    }

    /// A source over bytes in memory, as [`TextSource::open`] would give for a file holding
    /// them (for differential testing of the streamed paths).
    fn from_bytes(bytes: &[u8], head_len: usize) -> TextSource {
        let cut = head_len.saturating_add(1).min(bytes.len());
        let (head, rest) = bytes.split_at(cut);
        TextSource {
            reader: Box::new(std::io::Cursor::new(rest.to_vec())),
            head: head.to_vec(),
            complete: bytes.len() <= head_len,
            size_hint: bytes.len(),
        }
    }

    /// The whole content: `head` and everything after it.
    pub(crate) fn read_all(mut self, path: &Path) -> Result<Vec<u8>> {
        let mut all = self.head;
        all.reserve(self.size_hint.saturating_sub(all.len()));
        self.reader
            .read_to_end(&mut all)
            .map_err(|source| Error::Io { path: path.to_path_buf(), source })?;
        Ok(all)
    }

    /// Calls `f` on consecutive blocks of whole lines (each block ends with `\n`, except the
    /// last call, which gets what follows the last `\n`, possibly nothing) with the offset of
    /// the block in the content. Reads `chunk` bytes at a time into one buffer; a line longer
    /// than the buffer doubles it.
    fn for_each_block(
        mut self,
        path: &Path,
        chunk: usize,
        mut f: impl FnMut(&[u8], usize) -> Result<()>,
    ) -> Result<()> {
        let io_err = |source: std::io::Error| Error::Io { path: path.to_path_buf(), source };
        let mut buf = self.head;
        let mut filled = buf.len();
        buf.resize(filled.max(chunk).max(1), 0);
        let mut offset = 0;
        loop {
            let data = buf.get(..filled).unwrap_or_default();
            let whole = memchr::memrchr(b'\n', data).map_or(0, |i| i + 1);
            f(data.get(..whole).unwrap_or_default(), offset)?;
            buf.copy_within(whole..filled, 0);
            filled -= whole;
            offset += whole;
            if filled == buf.len() {
                buf.resize(2 * buf.len(), 0);
            }
            let n = read_fill(&mut self.reader, buf.get_mut(filled..).unwrap_or_default())
                .map_err(io_err)?;
            if n == 0 {
                return f(buf.get(..filled).unwrap_or_default(), offset);
            }
            filled += n;
        }
    }
}

/// How the general path decodes a line that is not UTF-8.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decode {
    /// Invalid sequences become U+FFFD ([`read_xye`]).
    Lossy,
    /// Every byte of the line as Latin-1 ([`crate::powder::read_powder`], as its other
    /// readers decode files that are not UTF-8).
    Latin1,
}

/// The text of one line (a `\n` is never inside a UTF-8 sequence, so lines can be decoded
/// one by one).
fn decode_line(raw: &[u8], decode: Decode) -> Cow<'_, str> {
    match std::str::from_utf8(raw) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => match decode {
            Decode::Lossy => String::from_utf8_lossy(raw),
            Decode::Latin1 => Cow::Owned(raw.iter().map(|&b| char::from(b)).collect()),
        },
    }
}

/// Reads the rest of a 2/3-column text file chunk by chunk through the line state machine
/// of [`parse_xye`]; the same result as [`parse_xye`] on the whole (decoded) text.
///
/// The head is parsed first, on this thread. When it holds the first data line (so the
/// column count is known), the content is at least [`PAR_MIN`] bytes and more than one core
/// is available, the rest is parsed in parallel ([`stream_parallel`]); otherwise it is read
/// `chunk` bytes at a time on this thread.
pub(crate) fn stream_xye(
    src: TextSource,
    path: &Path,
    decode: Decode,
    chunk: usize,
) -> Result<PowderData> {
    let workers = if src.size_hint < PAR_MIN {
        1
    } else {
        std::thread::available_parallelism().map_or(1, |n| n.get()).min(PAR_MAX_WORKERS)
    };
    stream_xye_with(src, path, decode, chunk, PAR_CHUNK, workers)
}

/// `text` read as [`read_xye`] streams a file holding it: a head of `head` bytes, then
/// `chunk`-byte reads on this thread (`workers` = 1) or `chunk`-byte blocks parsed by
/// `workers` threads. It gives what [`parse_xye`] gives on the (lossily decoded) text, which
/// the `xye_stream` fuzz target checks; not an API for reading files.
#[doc(hidden)]
pub fn stream_xye_bytes(
    text: &[u8],
    head: usize,
    chunk: usize,
    workers: usize,
    path: &Path,
) -> Result<PowderData> {
    let src = TextSource::from_bytes(text, head.max(1));
    let chunk = chunk.max(1);
    stream_xye_with(src, path, Decode::Lossy, chunk, chunk, workers.max(1))
}

/// Content size from which [`stream_xye`] parses in parallel: 4 MiB.
const PAR_MIN: usize = 4 << 20;

/// Size of the blocks handed to the workers of [`stream_parallel`]: 1 MiB (on 2 cores,
/// 1 MiB was as fast as 2 MiB from the page cache and faster from the disk; 4 and 8 MiB
/// were slower).
const PAR_CHUNK: usize = 1 << 20;

/// Most workers [`stream_xye`] starts (beyond a few, one thread reading and counting lines
/// is the limit).
const PAR_MAX_WORKERS: usize = 4;

/// [`stream_xye`] with `workers` threads (1: no thread) parsing blocks of `par_chunk` bytes.
fn stream_xye_with(
    src: TextSource,
    path: &Path,
    decode: Decode,
    chunk: usize,
    par_chunk: usize,
    workers: usize,
) -> Result<PowderData> {
    let TextSource { mut reader, mut head, size_hint: total, .. } = src;
    let mut st = Lines::new(path);
    let whole = memchr::memrchr(b'\n', &head).map_or(0, |i| i + 1);
    st.block(head.get(..whole).unwrap_or_default(), total, decode)?;
    head.drain(..whole);
    if workers >= 2 && st.columns.is_some() {
        let rest = total.saturating_sub(whole);
        let mean = whole / st.line_no.max(1);
        return stream_parallel(st, &mut reader, head, rest, mean, decode, par_chunk, workers);
    }
    let src = TextSource { reader, head, complete: false, size_hint: total };
    src.for_each_block(path, chunk, |block, offset| {
        st.block(block, total.saturating_sub(whole + offset).max(block.len()), decode)
    })?;
    st.finish()
}

/// A block of whole lines for a worker of [`stream_parallel`].
struct Job<'s> {
    /// Its place in the content (0 for the first block after the head).
    idx: usize,
    /// The block is `buf[..len]`.
    buf: Vec<u8>,
    len: usize,
    /// Where its points go: slots of the final columns, or (`None`) vectors of its own.
    slots: Option<Slots<'s>>,
}

/// What a worker of [`stream_parallel`] found in a block.
struct Parsed {
    /// Number of points.
    points: usize,
    /// [`Lines::first`], with the line counted from the start of the block (1-based).
    first: Option<(f64, usize)>,
    /// The first error of the block, its line counted from the start of the block.
    err: Option<Error>,
    /// The points, when the block had no slots.
    own: Option<Columns>,
    /// Whether the block was not parsed, being after a block with an error.
    skipped: bool,
}

/// Parses one block on its own (line numbers from 1) with the column count `columns`
/// already known.
fn parse_block<'p, S: Sink>(
    path: &'p Path,
    columns: (usize, usize),
    sink: S,
    bytes: &[u8],
    decode: Decode,
) -> (Lines<'p, S>, Option<Error>) {
    let mut st = Lines { path, columns: Some(columns), line_no: 0, first: None, sink };
    let err = st.block(bytes, bytes.len(), decode).err();
    (st, err)
}

/// A worker of [`stream_parallel`]: parses the blocks it receives until the channel closes;
/// sends back each buffer with what it found. A block after one with an error (`stop`, the
/// smallest index of a block with an error) is not parsed.
fn work(
    jobs: &Mutex<Receiver<Job<'_>>>,
    done: Sender<(usize, Vec<u8>, Parsed)>,
    stop: &AtomicUsize,
    path: &Path,
    columns: (usize, usize),
    decode: Decode,
) {
    loop {
        let job = {
            let Ok(rx) = jobs.lock() else {
                return;
            };
            rx.recv()
        };
        let Ok(job) = job else {
            return;
        };
        let bytes = job.buf.get(..job.len).unwrap_or_default();
        let parsed = if job.idx > stop.load(Ordering::Relaxed) {
            Parsed { points: 0, first: None, err: None, own: None, skipped: true }
        } else {
            let (points, first, err, own) = match job.slots {
                Some(slots) => {
                    let (st, err) = parse_block(path, columns, slots, bytes, decode);
                    (st.sink.len(), st.first, err, None)
                }
                None => {
                    let (st, err) = parse_block(path, columns, Columns::default(), bytes, decode);
                    (st.sink.len(), st.first, err, Some(st.sink))
                }
            };
            if err.is_some() {
                stop.fetch_min(job.idx, Ordering::Relaxed);
            }
            Parsed { points, first, err, own, skipped: false }
        };
        if done.send((job.idx, job.buf, parsed)).is_err() {
            return;
        }
    }
}

/// `e` with its line moved on by `lines`.
fn shift_line(e: Error, lines: usize) -> Error {
    match e {
        Error::Data { path, line, message } => Error::Data { path, line: line + lines, message },
        Error::Parse { path, line, message } => Error::Parse { path, line: line + lines, message },
        other => other,
    }
}

/// The rest of a streamed file parsed by `workers` threads, once the head (fed to `st`,
/// which knows the column count) is parsed; `carry` holds the bytes after the head's last
/// line break, `rest` is the expected number of bytes from there on and `mean` the mean line
/// length of the head.
///
/// This thread reads blocks of about `chunk` bytes of whole lines, counts their lines and
/// gives each block as many slots of the final columns (preallocated for `rest` at the
/// head's mean line length, plus a quarter), which a worker fills; blocks beyond the
/// preallocation get vectors of their own. Then, in file order, each block is checked
/// against the last point before it (2θ increasing), its first error is reported with its
/// line counted from the start of the file, and its points are moved up over the slots left
/// by comment and blank lines. The result, errors included, is that of the single-threaded
/// loop: the first error in file order, with the same line and message.
#[allow(clippy::too_many_arguments)]
fn stream_parallel(
    st: Lines<'_>,
    reader: &mut dyn Read,
    mut carry: Vec<u8>,
    rest: usize,
    mean: usize,
    decode: Decode,
    chunk: usize,
    workers: usize,
) -> Result<PowderData> {
    let path = st.path;
    let Some(columns @ (count, _)) = st.columns else {
        return st.finish();
    };
    let io_err = |source: std::io::Error| Error::Io { path: path.to_path_buf(), source };
    let internal = || Error::Data {
        path: path.to_path_buf(),
        line: 0,
        message: "internal error: a parsing thread stopped".to_string(),
    };
    let head_points = st.sink.tth.len();
    let room = rest / mean.max(1);
    let cap = head_points + room + room / 4 + 16;
    // Zeroed allocations: fresh pages, first touched by the worker that fills them.
    let mut tth = vec![0.0; cap];
    let mut y = vec![0.0; cap];
    let mut esd = vec![0.0; if count == 3 { cap } else { 0 }];
    for (to, from) in [(&mut tth, &st.sink.tth), (&mut y, &st.sink.y), (&mut esd, &st.sink.esd)] {
        if let Some(t) = to.get_mut(..from.len()) {
            t.copy_from_slice(from);
        }
    }
    let mut line_off = st.line_no;
    drop(st);

    let stop = AtomicUsize::new(usize::MAX);
    let (job_tx, job_rx) = mpsc::sync_channel::<Job<'_>>(workers);
    // Shared by the workers only: should they all stop, sending fails instead of blocking.
    let job_rx = Arc::new(Mutex::new(job_rx));
    let (done_tx, done_rx) = mpsc::channel::<(usize, Vec<u8>, Parsed)>();
    // Per block: its first slot (None: vectors of its own) and its number of lines.
    let mut blocks: Vec<(Option<usize>, usize)> = Vec::new();
    let mut parsed: Vec<Option<Parsed>> = Vec::new();
    let read = std::thread::scope(|s| -> Result<()> {
        for _ in 0..workers {
            let (jobs, done, stop) = (Arc::clone(&job_rx), done_tx.clone(), &stop);
            s.spawn(move || work(&jobs, done, stop, path, columns, decode));
        }
        drop((job_rx, done_tx));
        let keep = |msg: (usize, Vec<u8>, Parsed), parsed: &mut Vec<Option<Parsed>>| {
            let (idx, buf, p) = msg;
            if let Some(slot) = parsed.get_mut(idx) {
                *slot = Some(p);
            }
            buf
        };
        let (mut rt, mut ry, mut re) = (
            tth.get_mut(head_points..).unwrap_or_default(),
            y.get_mut(head_points..).unwrap_or_default(),
            esd.get_mut(head_points..).unwrap_or_default(),
        );
        let mut next_slot = head_points;
        let mut free: Vec<Vec<u8>> = Vec::new();
        let mut buffers = 0;
        let mut received = 0;
        let mut result = Ok(());
        let mut eof = false;
        while !eof && stop.load(Ordering::Relaxed) == usize::MAX {
            let mut buf = match free.pop() {
                Some(b) => b,
                None if buffers < 2 * workers + 1 => {
                    buffers += 1;
                    vec![0u8; chunk.max(1)]
                }
                None => match done_rx.recv() {
                    Ok(msg) => {
                        received += 1;
                        keep(msg, &mut parsed)
                    }
                    Err(_) => {
                        result = Err(internal());
                        break;
                    }
                },
            };
            if buf.len() <= carry.len() {
                buf.resize(2 * carry.len(), 0);
            }
            let mut filled = carry.len();
            if let Some(b) = buf.get_mut(..filled) {
                b.copy_from_slice(&carry);
            }
            // Read until the buffer holds a line break (a line longer than the buffer
            // doubles it) or the content ends.
            let cut = loop {
                if filled == buf.len() {
                    buf.resize(2 * buf.len(), 0);
                }
                match read_fill(reader, buf.get_mut(filled..).unwrap_or_default()) {
                    Ok(0) => {
                        eof = true;
                        break filled;
                    }
                    Ok(n) => filled += n,
                    Err(e) => {
                        result = Err(io_err(e));
                        break 0;
                    }
                }
                if let Some(i) = memchr::memrchr(b'\n', buf.get(..filled).unwrap_or_default()) {
                    break i + 1;
                }
            };
            if result.is_err() {
                break;
            }
            carry.clear();
            carry.extend_from_slice(buf.get(cut..filled).unwrap_or_default());
            if cut == 0 {
                free.push(buf);
                continue;
            }
            let block = buf.get(..cut).unwrap_or_default();
            let mut lines = memchr::memchr_iter(b'\n', block).count();
            if block.last().is_some_and(|&c| c != b'\n') {
                lines += 1; // the last line, without a line break
            }
            let slots = if lines <= rt.len() {
                let (t, t_rest) = std::mem::take(&mut rt).split_at_mut(lines);
                let (v, y_rest) = std::mem::take(&mut ry).split_at_mut(lines);
                let e_len = lines.min(re.len()); // 0 for two columns
                let (e, e_rest) = std::mem::take(&mut re).split_at_mut(e_len);
                (rt, ry, re) = (t_rest, y_rest, e_rest);
                blocks.push((Some(next_slot), lines));
                next_slot += lines;
                Some(Slots { tth: t, y: v, esd: e, n: 0 })
            } else {
                // No room left: this block and every later one get vectors of their own.
                (rt, ry, re) = (&mut [], &mut [], &mut []);
                blocks.push((None, lines));
                None
            };
            parsed.push(None);
            let job = Job { idx: blocks.len() - 1, buf, len: cut, slots };
            if job_tx.send(job).is_err() {
                result = Err(internal());
                break;
            }
        }
        drop(job_tx);
        while received < blocks.len() {
            let Ok(msg) = done_rx.recv() else {
                break;
            };
            received += 1;
            keep(msg, &mut parsed);
        }
        result
    });

    // The blocks in file order.
    let mut w = head_points;
    let mut prev = w.checked_sub(1).and_then(|i| tth.get(i)).copied();
    for ((slot, lines), p) in blocks.iter().zip(parsed) {
        let Some(p) = p.filter(|p| !p.skipped) else {
            return Err(internal());
        };
        if let (Some((x, line)), Some(prev)) = (p.first, prev) {
            if x <= prev {
                return Err(Error::Data {
                    path: path.to_path_buf(),
                    line: line_off + line,
                    message: format!("2θ = {x} does not increase (previous point {prev})"),
                });
            }
        }
        if let Some(e) = p.err {
            return Err(shift_line(e, line_off));
        }
        let n = p.points;
        match (slot, p.own) {
            (Some(s), _) => {
                if *s != w {
                    tth.copy_within(*s..s + n, w);
                    y.copy_within(*s..s + n, w);
                    if count == 3 {
                        esd.copy_within(*s..s + n, w);
                    }
                }
            }
            (None, Some(own)) => {
                tth.truncate(w);
                y.truncate(w);
                tth.extend_from_slice(&own.tth);
                y.extend_from_slice(&own.y);
                if count == 3 {
                    esd.truncate(w);
                    esd.extend_from_slice(&own.esd);
                }
            }
            (None, None) => return Err(internal()),
        }
        w += n;
        if n > 0 {
            prev = w.checked_sub(1).and_then(|i| tth.get(i)).copied();
        }
        line_off += lines;
    }
    read?;
    tth.truncate(w);
    y.truncate(w);
    esd.truncate(if count == 3 { w } else { 0 });
    Ok(PowderData {
        two_theta_deg: tth,
        intensity: y,
        esd: (count == 3).then_some(esd),
        source: path.to_path_buf(),
    })
}

/// Whether `c` is a field separator: ASCII whitespace as [`char::is_whitespace`] has it
/// (tab, line feed, vertical tab, form feed, carriage return, space), `,` or `;`.
#[inline]
fn is_sep(c: u8) -> bool {
    is_ascii_ws(c) || c == b',' || c == b';'
}

/// Splits a data line into fields: separators are whitespace, `,` and `;` (so a decimal comma
/// is not supported); empty fields between separators are dropped.
fn fields(line: &str) -> Vec<&str> {
    line.split(|c: char| c.is_whitespace() || c == ',' || c == ';')
        .filter(|f| !f.is_empty())
        .collect()
}

/// Powers of ten that are exact in an `f64` (10^0 … 10^22).
const POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// Reads the run of ASCII digits starting at `b[i]` into `m` (m ← 10·m + digit, wrapping)
/// and counts them in `n`; the index after the run. (Digit by digit: on this CPU it beat
/// reading eight bytes at a time with integer "SWAR" arithmetic, 26 ms against 37 ms for
/// the 4.5 M numbers of a 42 MB file.)
#[inline(always)]
fn digits(b: &[u8], mut i: usize, m: &mut u64, n: &mut usize) -> usize {
    while let Some(&c) = b.get(i) {
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            break;
        }
        *m = m.wrapping_mul(10).wrapping_add(u64::from(d));
        *n += 1;
        i += 1;
    }
    i
}

/// Reads a plain decimal `[+-]digits[.digits]` (or `[+-].digits`) starting at `b[i]` in one
/// pass: its value and the index just after it, or `None` when the field is not such a
/// decimal ending at a separator (`sep`) or the end of the line, or when its digits, read as
/// an integer m, exceed 19 digits or 2^53. Otherwise m and 10^k (k ≤ 19 digits after the
/// point) are exact doubles and the one IEEE division m / 10^k is the correctly rounded
/// value, the same as `str::parse` gives (W. D. Clinger, "How to read floating point numbers
/// accurately", PLDI 1990, the "fast path"). Exponents, long mantissas, `inf` and text are
/// left to `str::parse`.
#[inline(always)]
fn scan_decimal_with(b: &[u8], mut i: usize, sep: impl Fn(u8) -> bool) -> Option<(f64, usize)> {
    let neg = match b.get(i) {
        Some(b'-') => {
            i += 1;
            true
        }
        Some(b'+') => {
            i += 1;
            false
        }
        _ => false,
    };
    let mut m: u64 = 0;
    let mut n_digits = 0usize;
    i = digits(b, i, &mut m, &mut n_digits);
    let int_digits = n_digits;
    if b.get(i) == Some(&b'.') {
        i = digits(b, i + 1, &mut m, &mut n_digits);
    }
    let frac = n_digits - int_digits;
    // ≤ 19 digits cannot overflow a u64, so the wrapping arithmetic above was exact.
    if n_digits == 0 || n_digits > 19 || m > (1u64 << 53) || b.get(i).is_some_and(|&c| !sep(c)) {
        return None;
    }
    let x = m as f64 / *POW10.get(frac)?;
    Some((if neg { -x } else { x }, i))
}

/// The fast path of a data line once the column count is known: `Some` with the values when
/// the line is ASCII and holds exactly `count` (≤ 3) fields that are all finite numbers, so
/// that [`Lines::line`] would read the same values; `None` for anything else (blank, comment,
/// wrong count, bad number, non-ASCII), which then goes through the general path for its
/// verdict and message.
#[cfg(test)]
fn fast_values(line: &str, count: usize) -> Option<[f64; 3]> {
    fast_values_with(line.as_bytes(), count, is_sep)
}

/// The ASCII whitespace of [`char::is_whitespace`]: tab, line feed, vertical tab, form feed,
/// carriage return and space.
#[inline]
pub(crate) fn is_ascii_ws(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// One field of the fast path starting at `b[i]` (not a separator): its value and the
/// index after it, or `None` unless `str::parse` reads the field (ASCII, up to the next
/// `sep` byte) as a finite number. Plain decimals are read in one pass
/// ([`scan_decimal_with`]); exponents, long mantissas and text go to `str::parse`.
#[inline(always)]
fn fast_field(b: &[u8], i: usize, sep: impl Fn(u8) -> bool + Copy) -> Option<(f64, usize)> {
    if let Some(r) = scan_decimal_with(b, i, sep) {
        return Some(r);
    }
    let mut end = i;
    while let Some(&c) = b.get(end) {
        if sep(c) {
            break;
        }
        if !c.is_ascii() {
            return None;
        }
        end += 1;
    }
    let x: f64 = std::str::from_utf8(b.get(i..end)?).ok()?.parse().ok()?;
    x.is_finite().then_some((x, end))
}

/// The fast path of a line with the separators of `sep` (which must be ASCII bytes): `Some`
/// only when the line is ASCII and splits at `sep` into exactly `count` ≤ 3 fields that
/// `str::parse` reads as finite numbers, with the values it gives. Used by the GSAS FXY/FXYE
/// reader with [`is_ascii_ws`]; [`parse_xye`] uses [`fast_line`], which also finds the end
/// of the line.
#[inline]
pub(crate) fn fast_values_with(
    b: &[u8],
    count: usize,
    sep: impl Fn(u8) -> bool + Copy,
) -> Option<[f64; 3]> {
    let mut out = [0.0; 3];
    let mut k = 0;
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        if sep(c) {
            i += 1;
            continue;
        }
        if k == count {
            return None;
        }
        let (x, next) = fast_field(b, i, sep)?;
        *out.get_mut(k)? = x;
        k += 1;
        i = next;
    }
    (k == count).then_some(out)
}

/// Byte classes of [`fast_line`]: 1 for a separator of [`is_sep`] other than `\n`, 2 for
/// `\n`, 0 for anything else.
const CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    t[b' ' as usize] = 1;
    t[b'\t' as usize] = 1;
    t[0x0b] = 1;
    t[0x0c] = 1;
    t[b'\r' as usize] = 1;
    t[b',' as usize] = 1;
    t[b';' as usize] = 1;
    t[b'\n' as usize] = 2;
    t
};

/// The index of the first byte at or after `i` that is not a separator other than `\n`.
#[inline(always)]
fn skip_blanks(b: &[u8], mut i: usize) -> usize {
    while let Some(&c) = b.get(i) {
        if CLASS[usize::from(c)] != 1 {
            break;
        }
        i += 1;
    }
    i
}

/// The fast path of the line starting at `b[i]` of a file with `N` columns: its values and
/// the index after its `\n` (or the end of `b`) when the line holds exactly `N` fields that
/// [`fast_field`] reads, the same as [`fast_values_with`] with [`is_sep`] on the line;
/// `None` for anything else, which then goes through the general path.
#[inline(always)]
fn fast_line<const N: usize>(b: &[u8], mut i: usize) -> Option<([f64; 3], usize)> {
    let mut out = [0.0; 3];
    for slot in out.iter_mut().take(N) {
        i = skip_blanks(b, i);
        if b.get(i).is_none_or(|&c| c == b'\n') {
            return None;
        }
        let (x, next) = fast_field(b, i, is_sep)?;
        *slot = x;
        i = next;
    }
    i = skip_blanks(b, i);
    match b.get(i) {
        None => Some((out, i)),
        Some(b'\n') => Some((out, i + 1)),
        Some(_) => None,
    }
}

/// Where the line state machine puts its points: growing vectors ([`Columns`]), or a
/// preallocated run of slots of the final vectors ([`Slots`], parallel streaming).
trait Sink {
    /// The 2θ of the last point put, if any.
    fn last(&self) -> Option<f64>;
    /// Puts a point of `count` columns; `false` when there is no room for it.
    fn put(&mut self, v: [f64; 3], count: usize) -> bool;
    /// Makes room for about `n` more points of `count` columns.
    fn reserve(&mut self, n: usize, count: usize);
    /// Number of points put.
    fn len(&self) -> usize;
}

/// The three columns as vectors (`esd` stays empty for two columns).
#[derive(Default)]
struct Columns {
    tth: Vec<f64>,
    y: Vec<f64>,
    esd: Vec<f64>,
}

impl Sink for Columns {
    #[inline(always)]
    fn last(&self) -> Option<f64> {
        self.tth.last().copied()
    }

    #[inline(always)]
    fn put(&mut self, v: [f64; 3], count: usize) -> bool {
        let [x, y, e] = v;
        self.tth.push(x);
        self.y.push(y);
        if count == 3 {
            self.esd.push(e);
        }
        true
    }

    fn reserve(&mut self, n: usize, count: usize) {
        self.tth.reserve(n);
        self.y.reserve(n);
        if count == 3 {
            self.esd.reserve(n);
        }
    }

    fn len(&self) -> usize {
        self.tth.len()
    }
}

/// Slots of the final columns for the points of one block: as many as it has lines (a line
/// gives at most one point); `esd` is empty for two columns.
struct Slots<'s> {
    tth: &'s mut [f64],
    y: &'s mut [f64],
    esd: &'s mut [f64],
    /// Number of slots filled.
    n: usize,
}

impl Sink for Slots<'_> {
    #[inline(always)]
    fn last(&self) -> Option<f64> {
        self.tth.get(self.n.checked_sub(1)?).copied()
    }

    #[inline(always)]
    fn put(&mut self, v: [f64; 3], count: usize) -> bool {
        let [x, y, e] = v;
        let n = self.n;
        let (Some(a), Some(b)) = (self.tth.get_mut(n), self.y.get_mut(n)) else {
            return false;
        };
        *a = x;
        *b = y;
        if count == 3 {
            let Some(c) = self.esd.get_mut(n) else {
                return false;
            };
            *c = e;
        }
        self.n = n + 1;
        true
    }

    fn reserve(&mut self, _: usize, _: usize) {}

    fn len(&self) -> usize {
        self.n
    }
}

/// The line state machine of [`parse_xye`] and [`read_xye`].
struct Lines<'a, S: Sink = Columns> {
    path: &'a Path,
    /// (column count, line of the first data line) once a data line has been seen.
    columns: Option<(usize, usize)>,
    /// Number of lines seen so far.
    line_no: usize,
    /// The 2θ and line of the first line that reached [`Lines::push`] (accepted or not): where
    /// a block parsed on its own is checked against the last point of the block before it.
    first: Option<(f64, usize)>,
    sink: S,
}

impl<'a> Lines<'a> {
    fn new(path: &'a Path) -> Self {
        Lines { path, columns: None, line_no: 0, first: None, sink: Columns::default() }
    }
}

impl<'a, S: Sink> Lines<'a, S> {
    fn data_err(&self, line: usize, message: String) -> Error {
        Error::Data { path: self.path.to_path_buf(), line, message }
    }

    /// Appends one point after the checks that need the previous point.
    #[inline(always)]
    fn push(&mut self, v: [f64; 3], count: usize, line_no: usize) -> Result<()> {
        let [x, _, e] = v;
        let increases = match self.sink.last() {
            Some(prev) => x > prev,
            None => {
                if self.first.is_none() {
                    self.first = Some((x, line_no));
                }
                true
            }
        };
        if !increases || (count == 3 && e < 0.0) || !self.sink.put(v, count) {
            return Err(self.point_err(v, count, line_no));
        }
        Ok(())
    }

    /// The error of a point [`Lines::push`] refuses.
    #[cold]
    #[inline(never)]
    fn point_err(&self, v: [f64; 3], count: usize, line_no: usize) -> Error {
        let [x, _, e] = v;
        match self.sink.last() {
            Some(prev) if x <= prev => self
                .data_err(line_no, format!("2θ = {x} does not increase (previous point {prev})")),
            _ if count == 3 && e < 0.0 => self.data_err(line_no, format!("negative esd {e}")),
            _ => self.data_err(line_no, "point refused".to_string()),
        }
    }

    /// Feeds a block of whole lines: lines split at `\n` as `str::lines` splits them (no empty
    /// last line after a final `\n`; a `\r` before the `\n` is whitespace and trimmed).
    /// `rest` is the number of bytes from the start of the block to the end of the content
    /// (to size the columns at the first data line).
    fn block(&mut self, bytes: &[u8], rest: usize, decode: Decode) -> Result<()> {
        let mut pos = 0;
        while pos < bytes.len() {
            // Ordinary data lines, one after the other.
            match self.columns {
                Some((2, _)) => pos = self.fast_lines::<2>(bytes, pos)?,
                Some((3, _)) => pos = self.fast_lines::<3>(bytes, pos)?,
                _ => {}
            }
            if pos >= bytes.len() {
                break;
            }
            // Any other line: the general path, for its verdict and message.
            let tail = bytes.get(pos..).unwrap_or_default();
            let len = memchr::memchr(b'\n', tail).unwrap_or(tail.len());
            let raw = tail.get(..len).unwrap_or_default();
            self.line_no += 1;
            let text = decode_line(raw, decode);
            self.line(&text, self.line_no, rest.saturating_sub(pos))?;
            pos += len + 1;
        }
        Ok(())
    }

    /// Reads the lines from `b[pos]` on while [`fast_line`] takes them; the index of the first
    /// line it declines (or the end).
    #[inline(always)]
    fn fast_lines<const N: usize>(&mut self, b: &[u8], mut pos: usize) -> Result<usize> {
        while let Some((v, next)) = fast_line::<N>(b, pos) {
            self.line_no += 1;
            self.push(v, N, self.line_no)?;
            pos = next;
        }
        Ok(pos)
    }

    /// The general path for one line (1-based `line_no`); `rest` is the number of bytes from
    /// this line to the end of the text (to size the columns at the first data line).
    fn line(&mut self, raw: &str, line_no: usize, rest: usize) -> Result<()> {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with('!') {
            return Ok(());
        }
        let f = fields(line);
        if self.columns.is_none() && f.first().is_none_or(|x| x.parse::<f64>().is_err()) {
            return Ok(()); // leading header line
        }
        let (count, first_line) = match self.columns {
            Some(c) => c,
            None => {
                if !(2..=3).contains(&f.len()) {
                    return Err(self.data_err(
                        line_no,
                        format!("first data line has {} columns; expected 2 (2θ, intensity) or 3 (2θ, intensity, esd)", f.len()),
                    ));
                }
                // Room for the rest of the file at this line's length (grows if needed).
                let n = rest / (raw.len() + 1).max(8) + 16;
                self.sink.reserve(n, f.len());
                self.columns = Some((f.len(), line_no));
                (f.len(), line_no)
            }
        };
        let mut v = Vec::with_capacity(f.len());
        for (k, text) in f.iter().enumerate() {
            let x: f64 = text.parse().map_err(|_| Error::Parse {
                path: self.path.to_path_buf(),
                line: line_no,
                message: format!("column {} '{text}' is not a number", k + 1),
            })?;
            if !x.is_finite() {
                return Err(self.data_err(
                    line_no,
                    format!("column {} is {text}; values must be finite", k + 1),
                ));
            }
            v.push(x);
        }
        if f.len() != count {
            return Err(self.data_err(
                line_no,
                format!(
                    "{} columns, but the first data line (line {first_line}) has {count}",
                    f.len()
                ),
            ));
        }
        let mut p = [0.0; 3];
        for (slot, x) in p.iter_mut().zip(&v) {
            *slot = *x;
        }
        self.push(p, count, line_no)
    }
}

impl Lines<'_> {
    /// The data once every line has been fed.
    fn finish(self) -> Result<PowderData> {
        let Some((count, _)) = self.columns else {
            return Err(self.data_err(
                self.line_no.max(1),
                "no data points (the file is empty or holds only comments and headers)".to_string(),
            ));
        };
        Ok(PowderData {
            two_theta_deg: self.sink.tth,
            intensity: self.sink.y,
            esd: (count == 3).then_some(self.sink.esd),
            source: self.path.to_path_buf(),
        })
    }
}

/// Parses the text of a powder file; `path` names it in messages and in [`PowderData::source`].
///
/// Lines starting with `#` or `!` and blank lines are skipped, and so are lines before the first
/// data line whose first field is not a number (a title or a column header). Every data line
/// must then have as many numeric fields as the first one, which must have 2 (2θ, I) or 3
/// (2θ, I, esd). Errors name the line: [`Error::Parse`] for text that is not a number,
/// [`Error::Data`] for a wrong column count, NaN or infinite values, 2θ not strictly
/// increasing, a negative esd, or no data at all.
///
/// Speed: lines are found with `memchr` and ordinary data lines are split on bytes without
/// allocating; every other line takes the general path, so messages are the same either way.
/// [`read_xye`] streams large files through the same line state machine.
pub fn parse_xye(text: &str, path: &Path) -> Result<PowderData> {
    let mut st = Lines::new(path);
    st.block(text.as_bytes(), text.len(), Decode::Lossy)?;
    st.finish()
}

/// Writes powder data as text, atomically: a `# bragg <comment>` header line (pass e.g. the
/// wavelength), then one line per point, `2θ intensity esd` (two columns when `esd` is `None`).
/// Numbers are written with all the digits that make them round-trip exactly.
///
/// Errors: [`Error::InvalidInput`] (nothing written) if the columns differ in length or the
/// comment has a line break; [`Error::Io`] if the file cannot be written.
pub fn write_xye(path: &Path, data: &PowderData, comment: &str) -> Result<()> {
    let invalid = |message: String| Error::InvalidInput { path: path.to_path_buf(), message };
    let n = data.two_theta_deg.len();
    if data.intensity.len() != n || data.esd.as_ref().is_some_and(|e| e.len() != n) {
        return Err(invalid(format!(
            "columns differ in length (2θ {n}, intensity {}, esd {})",
            data.intensity.len(),
            data.esd.as_ref().map_or("none".to_string(), |e| e.len().to_string())
        )));
    }
    if comment.contains(['\n', '\r']) {
        return Err(invalid("the header comment must be a single line".to_string()));
    }
    write_atomic(path, |w: &mut dyn Write| {
        writeln!(w, "# bragg {comment}")?;
        for i in 0..n {
            match &data.esd {
                Some(e) => writeln!(w, "{} {} {}", data.two_theta_deg[i], data.intensity[i], e[i])?,
                None => writeln!(w, "{} {}", data.two_theta_deg[i], data.intensity[i])?,
            }
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // test code
    use super::*;

    /// Reference for the scanner: a plain decimal `[+-]digits[.digits]` (or `[+-].digits`) whose digits, read as an integer
    /// m, satisfy m ≤ 2^53 with at most 22 of them after the point: then m and 10^k are exact
    /// doubles and the one IEEE division m / 10^k is the correctly rounded value, the same as
    /// `str::parse` gives (W. D. Clinger, "How to read floating point numbers accurately",
    /// PLDI 1990, the "fast path"). `None` for anything else (exponents, long mantissas, `inf`,
    /// text), which is left to `str::parse`.
    fn simple_decimal(t: &[u8]) -> Option<f64> {
        let (neg, digits) = match t.first() {
            Some(b'-') => (true, t.get(1..)?),
            Some(b'+') => (false, t.get(1..)?),
            _ => (false, t),
        };
        let mut m: u64 = 0;
        let mut n_digits = 0usize;
        let mut frac: Option<usize> = None;
        for &c in digits {
            match c {
                b'0'..=b'9' => {
                    if n_digits >= 19 {
                        return None;
                    }
                    m = m * 10 + u64::from(c - b'0');
                    n_digits += 1;
                    if let Some(f) = frac.as_mut() {
                        *f += 1;
                    }
                }
                b'.' if frac.is_none() => frac = Some(0),
                _ => return None,
            }
        }
        if n_digits == 0 || m > (1u64 << 53) {
            return None;
        }
        let x = m as f64 / *POW10.get(frac.unwrap_or(0))?;
        Some(if neg { -x } else { x })
    }

    /// The fast decimal path gives bit for bit what `str::parse` gives, or declines.
    #[test]
    fn simple_decimal_agrees_with_std_parse() {
        let mut cases: Vec<String> = [
            "0",
            "-0",
            "+0",
            "0.0",
            "-0.000",
            "1",
            "1.",
            ".5",
            "-.5",
            "+.25",
            "12.345678",
            "1288.000000",
            "35.888717",
            "0.1",
            "0.2",
            "0.3",
            "9007199254740992",
            "9007199254740993",
            "900719925474099.3",
            "0.0000000000000000000001",
            "0.00000000000000000000001",
            "1234567890123456789",
            "12345678901234567890",
            ".",
            "-",
            "+",
            "",
            "1.2.3",
            "1e5",
            "1E-3",
            "inf",
            "NaN",
            "1,5",
            "--1",
            "+-1",
            "0x10",
            "1_000",
            " 1",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        // Deterministic pseudo-random decimals of every length and point position.
        let mut h: u64 = 0x2545_F491_4F6C_DD1D;
        for _ in 0..200_000 {
            h ^= h << 13;
            h ^= h >> 7;
            h ^= h << 17;
            let digits = 1 + (h % 19) as usize;
            let point = ((h >> 8) % (digits as u64 + 1)) as usize;
            let mut s = String::new();
            if (h >> 16) & 1 == 1 {
                s.push('-');
            }
            let mut d = h >> 20;
            for j in 0..digits {
                if j == point {
                    s.push('.');
                }
                s.push(char::from(b'0' + (d % 10) as u8));
                d = (d / 10) ^ (h >> (j % 40));
            }
            cases.push(s);
        }
        let mut fast = 0;
        for s in &cases {
            let std = s.parse::<f64>().ok();
            // The one-pass scanner reads the same value, up to the end or a separator.
            if let Some((x, end)) = scan_decimal_with(s.as_bytes(), 0, is_sep) {
                assert!(end == s.len() || is_sep(s.as_bytes()[end]), "{s}");
                let head = simple_decimal(&s.as_bytes()[..end]).map(f64::to_bits);
                assert_eq!(Some(x.to_bits()), head, "{s}");
            }
            if let Some(x) = simple_decimal(s.as_bytes()) {
                assert_eq!(scan_decimal_with(s.as_bytes(), 0, is_sep), Some((x, s.len())), "{s}");
            }
            // `None` is left to str::parse.
            if let Some(x) = simple_decimal(s.as_bytes()) {
                fast += 1;
                assert_eq!(Some(x.to_bits()), std.map(f64::to_bits), "{s}");
            }
        }
        // The fast path must actually be taken for ordinary numbers.
        assert!(fast > 100_000, "{fast}");
        assert_eq!(simple_decimal(b"12.345678"), Some(12.345678));
        assert_eq!(simple_decimal(b"1e5"), None);
    }

    /// Lines the fast path declines are decided by the general path with the same result.
    #[test]
    fn fast_and_general_paths_agree() {
        let text = "# c\n10 1 1\n10.5\t2,0.5\n11;3;1\n\n! x\n11.5 4 2\r\n12 5e0 1\n";
        let d = parse_xye(text, Path::new("a.xye")).unwrap();
        assert_eq!(d.two_theta_deg, [10.0, 10.5, 11.0, 11.5, 12.0]);
        assert_eq!(d.intensity, [1.0, 2.0, 3.0, 4.0, 5.0]);
        assert_eq!(d.esd.unwrap(), [1.0, 0.5, 1.0, 2.0, 1.0]);
        assert_eq!(fast_values("10 1 1", 3), Some([10.0, 1.0, 1.0]));
        assert_eq!(fast_values("10 1", 3), None);
        assert_eq!(fast_values("10 1 1 1", 3), None);
        assert_eq!(fast_values("10 inf 1", 3), None);
        assert_eq!(fast_values("10\u{a0}1 1", 3), None);
        // A non-breaking space separates fields in the general path.
        let d = parse_xye("10 1\n11\u{a0}2\n", Path::new("a.xye")).unwrap();
        assert_eq!(d.intensity, [1.0, 2.0]);
    }

    /// A text of `n` data lines after a title and a comment, with blank, comment, CRLF,
    /// exponent and tab-separated lines sprinkled in (so both paths run).
    fn sample_text(n: usize, columns: usize) -> String {
        let mut t = String::from("title line\n# 2theta I esd\n");
        for i in 0..n {
            let tth = 5.0 + i as f64 * 0.01;
            let y = 100.0 + (i % 17) as f64 * 3.25;
            match i % 11 {
                3 => t.push_str(&format!("{tth:.4}\t{y}e0\t{:.3}\r\n", y.sqrt())),
                7 => t.push_str(&format!("\n! comment {i}\n{tth:.4},{y:.2},{:.5}\n", y.sqrt())),
                _ => t.push_str(&format!("{tth:.4} {y:.2} {:.5}\n", y.sqrt())),
            }
            if columns == 2 {
                // drop the esd column of the line just written
                let start = t.trim_end().rfind('\n').map_or(0, |k| k + 1);
                let line = t.split_off(start);
                let f: Vec<&str> = line.split([' ', '\t', ',']).collect();
                t.push_str(&format!("{} {}\n", f[0], f[1]));
            }
        }
        t
    }

    /// Streams `text` (written to a file) through [`TextSource`] with a head of `head` bytes
    /// and chunks of `chunk` bytes; the source, and the file in messages, named `s.xye`.
    fn stream(
        text: &[u8],
        head: usize,
        chunk: usize,
        decode: Decode,
    ) -> std::result::Result<PowderData, (Error, String)> {
        stream_par(text, head, chunk, decode, 1)
    }

    /// A streamed error `got` (error, message with the file renamed) is `want`'s message and
    /// names line `line`; `ctx` labels a failure.
    fn assert_same_error(got: (Error, String), want: &Error, line: usize, ctx: &str) {
        assert_eq!(got.1, want.to_string(), "{ctx}");
        match got.0 {
            Error::Data { line: l, .. } | Error::Parse { line: l, .. } => {
                assert_eq!(l, line, "{ctx}")
            }
            other => panic!("{ctx}: {other:?}"),
        }
    }

    /// [`stream`] with `workers` threads parsing blocks of `chunk` bytes (1: no thread).
    fn stream_par(
        text: &[u8],
        head: usize,
        chunk: usize,
        decode: Decode,
        workers: usize,
    ) -> std::result::Result<PowderData, (Error, String)> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.xye");
        std::fs::write(&path, text).unwrap();
        let src = TextSource::open(&path, head).unwrap();
        assert!(!src.complete || text.len() <= head);
        match stream_xye_with(src, &path, decode, chunk, chunk, workers) {
            Ok(mut d) => {
                d.source = PathBuf::from("s.xye");
                Ok(d)
            }
            Err(e) => {
                let msg = e.to_string().replacen(&path.display().to_string(), "s.xye", 1);
                Err((e, msg))
            }
        }
    }

    /// The chunk loop gives what `parse_xye` gives on the whole text, for chunks so small that
    /// every line straddles chunk boundaries, with and without a final line break.
    #[test]
    fn streaming_equals_parse_xye_at_any_chunk_size() {
        let p = Path::new("s.xye");
        for columns in [2, 3] {
            let text = sample_text(300, columns);
            let whole = parse_xye(&text, p).unwrap();
            assert_eq!(whole.len(), 300);
            for (head, chunk) in [(1, 1), (7, 5), (40, 3), (100, 64), (4096, 1000)] {
                let d = stream(text.as_bytes(), head, chunk, Decode::Latin1).unwrap();
                assert_eq!(d, whole, "columns {columns} head {head} chunk {chunk}");
                let cut = text.trim_end_matches(['\n', '\r']);
                let d = stream(cut.as_bytes(), head, chunk, Decode::Lossy).unwrap();
                assert_eq!(d, whole, "no final newline, head {head} chunk {chunk}");
            }
        }
    }

    /// An error in the streamed part names the same line, with the same message, as
    /// `parse_xye` on the whole text.
    #[test]
    fn streamed_errors_name_the_right_line() {
        let p = Path::new("s.xye");
        let text = sample_text(200, 3);
        let lines: Vec<&str> = text.lines().collect();
        let bad_cases = [
            (150, "1.0 1 1"),            // 2θ does not increase
            (151, "99 1 -1"),            // negative esd
            (152, "99 1"),               // column count
            (153, "99 x 1"),             // not a number
            (154, "99 1 \u{e9}t\u{e9}"), // non-ASCII text
        ];
        for (line, bad) in bad_cases {
            let mut v = lines.clone();
            v[line - 1] = bad;
            let t = v.join("\n");
            let want = parse_xye(&t, p).unwrap_err();
            for (head, chunk) in [(3, 2), (64, 17), (1000, 333)] {
                let got = stream(t.as_bytes(), head, chunk, Decode::Lossy).unwrap_err();
                assert_same_error(got, &want, line, bad);
            }
        }
    }

    /// A line that is not UTF-8 is decoded on its own: U+FFFD for `read_xye`, Latin-1 for
    /// `read_powder`, as the whole-file decoding does.
    #[test]
    fn non_utf8_line_in_streamed_part() {
        let text = sample_text(100, 2);
        let mut bytes = text.into_bytes();
        bytes.extend_from_slice(b"99 1\xb0\n");
        let lossy = stream(&bytes, 16, 16, Decode::Lossy).unwrap_err().1;
        assert!(lossy.contains("'1\u{fffd}'"), "{lossy}");
        let latin1 = stream(&bytes, 16, 16, Decode::Latin1).unwrap_err().1;
        assert!(latin1.contains("'1\u{b0}'"), "{latin1}");
        let want = parse_xye(&String::from_utf8_lossy(&bytes), Path::new("s.xye")).unwrap_err();
        assert_eq!(lossy, want.to_string());
    }

    /// A file larger than the head, plain and gzip-compressed, read by `read_xye` and
    /// `read_powder` (streamed) gives exactly what `parse_xye` gives on its whole text.
    #[test]
    fn large_files_stream_to_the_same_data() {
        use std::io::Write as _;
        let text = sample_text(60_000, 3);
        assert!(text.len() > CHUNK + CHUNK / 2, "{}", text.len());
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("big.xye");
        std::fs::write(&plain, &text).unwrap();
        let gz = dir.path().join("big.xye.gz");
        let mut enc = flate2::write::GzEncoder::new(
            std::fs::File::create(&gz).unwrap(),
            flate2::Compression::fast(),
        );
        enc.write_all(text.as_bytes()).unwrap();
        enc.finish().unwrap();
        for path in [&plain, &gz] {
            let mut want = parse_xye(&text, path).unwrap();
            assert_eq!(read_xye(path).unwrap(), want);
            let scan = crate::powder::read_powder(path).unwrap();
            assert_eq!(scan.meta.format, crate::powder::PowderFormat::Xye);
            want.source = path.clone();
            assert_eq!(scan.data, want);
        }
        // An error far beyond the head names its line.
        let mut lines: Vec<&str> = text.lines().collect();
        let n = lines.len() - 5;
        lines[n - 1] = "1.0 1 1";
        std::fs::write(&plain, lines.join("\n")).unwrap();
        let e = crate::powder::read_powder(&plain).unwrap_err();
        assert!(e.to_string().contains("does not increase"), "{e}");
        assert!(matches!(e, Error::Data { line, .. } if line == n), "{e:?}");
    }

    /// Parsed in parallel (the head on this thread, then blocks of `chunk` bytes by 2 or 3
    /// workers), a text gives exactly what `parse_xye` gives: with comment and blank lines
    /// inside blocks (points moved up over their slots), without a final line break, and when
    /// the head's long lines make the preallocation too small (later blocks in vectors of
    /// their own).
    #[test]
    fn parallel_streaming_equals_parse_xye() {
        let p = Path::new("s.xye");
        for columns in [2, 3] {
            let text = sample_text(3000, columns);
            let whole = parse_xye(&text, p).unwrap();
            // A head of long comment lines: a mean line length far above the data's.
            let long = format!("{}{text}", format!("# {}\n", "x".repeat(3000)).repeat(3));
            for (t, head) in [(&text, 200), (&text, 5000), (&long, 9300)] {
                for chunk in [1, 40, 333, 4096] {
                    for workers in [2, 3] {
                        let d = stream_par(t.as_bytes(), head, chunk, Decode::Lossy, workers);
                        assert_eq!(d.unwrap(), whole, "{columns} {head} {chunk} {workers}");
                        let cut = t.trim_end_matches(['\n', '\r']);
                        let d = stream_par(cut.as_bytes(), head, chunk, Decode::Latin1, workers);
                        assert_eq!(d.unwrap(), whole, "no final newline {head} {chunk}");
                    }
                }
            }
        }
    }

    /// Parsed in parallel, the error reported is the first in file order, with the line and
    /// message of `parse_xye`: alone in a block, in a block after another worker's block,
    /// before a second error in a later block, and at the first point of a block, which is
    /// checked against the last point of the block before it (also when that point's esd is
    /// negative too: "does not increase" comes first, as in the single-threaded loop).
    #[test]
    fn parallel_errors_are_the_first_in_file_order() {
        let p = Path::new("s.xye");
        let text = sample_text(2000, 3);
        let lines: Vec<&str> = text.lines().collect();
        let cases: [&[(usize, &str)]; 8] = [
            &[(1500, "1.0 1 1")],
            &[(1501, "99 1 -1")],
            &[(1502, "99 1")],
            &[(1503, "99 x 1")],
            &[(1504, "99 1 \u{e9}t\u{e9}")],
            &[(1505, "1.0 1 -1")],
            &[(900, "99 1"), (1900, "1.0 1 1")],
            &[(1900, "99 x 1"), (1950, "1.0 1 1"), (600, "1.0 1 1")],
        ];
        for bad in cases {
            let mut v = lines.clone();
            for &(line, b) in bad {
                v[line - 1] = b;
            }
            let t = v.join("\n");
            let want = parse_xye(&t, p).unwrap_err();
            let want_line = bad.iter().map(|&(l, _)| l).min().unwrap();
            for chunk in [1, 37, 500, 4096] {
                for workers in [2, 3] {
                    let got =
                        stream_par(t.as_bytes(), 300, chunk, Decode::Lossy, workers).unwrap_err();
                    assert_same_error(got, &want, want_line, &format!("{bad:?} {chunk}"));
                }
            }
        }
    }

    /// A file of at least `PAR_MIN` bytes read by `read_xye` and `read_powder` (in parallel
    /// when more than one core is available) gives exactly what `parse_xye` gives, and an
    /// error far beyond the head names its line.
    #[test]
    fn files_above_the_parallel_threshold_read_the_same() {
        let text = sample_text(200_000, 3);
        assert!(text.len() > PAR_MIN, "{}", text.len());
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.xye");
        std::fs::write(&path, &text).unwrap();
        let want = parse_xye(&text, &path).unwrap();
        assert_eq!(read_xye(&path).unwrap(), want);
        assert_eq!(crate::powder::read_powder(&path).unwrap().data, want);
        let mut lines: Vec<&str> = text.lines().collect();
        let n = (lines.len() - 1000..).find(|&i| lines[i - 1].starts_with('2')).unwrap();
        let bad = format!("{} 1 -2", lines[n - 1].split([' ', '\t', ',']).next().unwrap());
        lines[n - 1] = &bad;
        lines[n + 500] = "1.0 1 1";
        let t = lines.join("\n");
        std::fs::write(&path, &t).unwrap();
        let want = parse_xye(&t, &path).unwrap_err().to_string();
        assert!(want.contains(&format!(":{n}: negative esd -2")), "{want}");
        assert_eq!(read_xye(&path).unwrap_err().to_string(), want);
        assert_eq!(crate::powder::read_powder(&path).unwrap_err().to_string(), want);
    }

    /// `fast_line` reads a line as `fast_values_with` does and finds its end.
    #[test]
    fn fast_line_agrees_with_fast_values() {
        let cases = [
            "10 1 1",
            " 10\t1,1 ",
            "10 1",
            "10 1 1 1",
            "10 1e3 .5",
            "-1 +2 3.",
            "10 inf 1",
            "10 1 1x",
            "1 2 3\r",
            "",
            "  ",
            "10\u{a0}1 1",
            "1;2;3;",
            "1 2 99999999999999999999",
        ];
        for c in cases {
            for (n, want) in [
                (2, fast_values_with(c.as_bytes(), 2, is_sep)),
                (3, fast_values_with(c.as_bytes(), 3, is_sep)),
            ] {
                let line = format!("{c}\nnext");
                let got = if n == 2 {
                    fast_line::<2>(line.as_bytes(), 0)
                } else {
                    fast_line::<3>(line.as_bytes(), 0)
                };
                assert_eq!(got.map(|(v, _)| v), want, "{c:?} {n}");
                if let Some((_, end)) = got {
                    assert_eq!(end, c.len() + 1, "{c:?}");
                }
                let got = if n == 2 {
                    fast_line::<2>(c.as_bytes(), 0)
                } else {
                    fast_line::<3>(c.as_bytes(), 0)
                };
                assert_eq!(got.map(|(v, _)| v), want, "{c:?} {n} at the end");
            }
        }
    }
}
