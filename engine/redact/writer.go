package redact

import (
	"bytes"
	"io"
	"sync"
)

// maxPending bounds how much text without a line end a Writer holds back;
// past it the text is masked and written as it is (output that never ends
// a line must still appear).
const maxPending = 64 << 10

// Writer masks secrets in everything written through it. It holds text
// back until a line ends (\n or \r) so that a secret is never split between
// two writes and passed through in halves; Flush writes what is held. Every
// runplan output writes whole lines (zerolog, the console report, progress
// frames), so the delay is nil in practice.
//
// A Writer is safe for concurrent use; writes are serialised. Flush (or
// Close) must be called when the output ends.
type Writer struct {
	r   *Redactor
	w   io.Writer
	mu  sync.Mutex
	buf []byte
}

// NewWriter returns a Writer that masks what r masks (credential-shaped text
// only when r is nil) and writes to w.
func (r *Redactor) NewWriter(w io.Writer) *Writer { return &Writer{r: r, w: w} }

// Write holds p back up to its last line end and writes the complete lines
// masked. It reports len(p) written unless the underlying writer fails.
func (w *Writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	i := bytes.LastIndexAny(w.buf, "\n\r")
	if i < 0 {
		if len(w.buf) < maxPending {
			return len(p), nil
		}
		i = len(w.buf) - 1
	}
	if err := w.emit(i + 1); err != nil {
		return 0, err
	}
	return len(p), nil
}

// emit writes the first n held bytes masked.
func (w *Writer) emit(n int) error {
	out := w.r.Bytes(w.buf[:n])
	_, err := w.w.Write(out)
	rest := copy(w.buf, w.buf[n:])
	w.buf = w.buf[:rest]
	return err
}

// Flush writes the text held back, masked.
func (w *Writer) Flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.buf) == 0 {
		return nil
	}
	return w.emit(len(w.buf))
}

// Close flushes; it does not close the underlying writer.
func (w *Writer) Close() error { return w.Flush() }

// Redactor returns the Redactor the Writer masks with (nil: credential-
// shaped text only); secrets registered with it are masked from then on.
func (w *Writer) Redactor() *Redactor { return w.r }

// Unwrap returns the underlying writer, for checks such as "is it a
// terminal" that the Writer would hide. Writing to it bypasses masking.
func (w *Writer) Unwrap() io.Writer { return w.w }

// Unmasked returns the writer below a masking Writer (any writer with an
// Unwrap method), w itself otherwise: for the rare output that must show a
// secret because the user asked for it, like the URL `runplan sink` prints
// for the user to copy, token included.
func Unmasked(w io.Writer) io.Writer {
	if rw, ok := w.(interface{ Unwrap() io.Writer }); ok {
		return rw.Unwrap()
	}
	return w
}
