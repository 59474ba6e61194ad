package data

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// liveHeap is the heap in use once garbage is collected.
func liveHeap() int64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}

// Memory does not grow with the file's size for the streaming picks: drawing
// every row of a 4 MiB file (twice over for sequential) leaves the live
// heap within 512 KiB of where it was before the source was opened, with
// one shared cursor or four per-VU ones. The control, pick random, which
// holds the rows, grows by more than the file's size: the measure sees
// what it looks for.
//
// Not parallel: the live heap is the process's, and the parallel tests of
// the package wait while a sequential one runs.
func TestStreamingMemory(t *testing.T) {
	path := filepath.Join(t.TempDir(), "big.csv")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(f)
	fmt.Fprintln(w, "id,symbol,side,price,strategy")
	rows := 0
	for size := 0; size < 4<<20; rows++ {
		n, _ := fmt.Fprintf(w, "%d,SYM%04d,%s,%d.%02d,strategy-%d\n", rows, rows%9973, []string{"BUY", "SELL"}[rows%2], 1000+rows%50000, rows%100, rows%7)
		size += n
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	in, err := Scan(path, CSV)
	if err != nil || len(in.Problems) > 0 || in.Rows != int64(rows) {
		t.Fatalf("scan: %v %v, %d rows", err, in.Problems, in.Rows)
	}
	// The same rows as a JSON array, whose decoder must not keep what it
	// has read either.
	jsonPath := filepath.Join(t.TempDir(), "big.json")
	jf, err := os.Create(jsonPath)
	if err != nil {
		t.Fatal(err)
	}
	jw := bufio.NewWriter(jf)
	jw.WriteString("[\n")
	for i := range rows {
		sep := ","
		if i == rows-1 {
			sep = ""
		}
		fmt.Fprintf(jw, "{\"id\": %d, \"symbol\": \"SYM%04d\", \"price\": %d.5}%s\n", i, i%9973, 1000+i%50000, sep)
	}
	jw.WriteString("]\n")
	if err := jw.Flush(); err != nil {
		t.Fatal(err)
	}
	jf.Close()
	jin, err := Scan(jsonPath, JSON)
	if err != nil || len(jin.Problems) > 0 || jin.Rows != int64(rows) {
		t.Fatalf("scan: %v %v, %d rows", err, jin.Problems, jin.Rows)
	}
	const limit = 512 << 10
	tests := []struct {
		name   string
		pick   Pick
		cursor CursorKind
		vus    int
		draws  int // per cursor
		grows  bool
		json   bool
	}{
		{"sequential shared", Sequential, Shared, 1, 2 * rows, false, false},
		{"sequential vu", Sequential, PerVU, 4, rows + rows/2, false, false},
		{"unique shared", Unique, Shared, 1, rows, false, false},
		{"unique vu", Unique, PerVU, 4, rows, false, false},
		{"sequential shared, json", Sequential, Shared, 1, 2 * rows, false, true},
		{"random (control)", Random, Shared, 1, 1000, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := Spec{Name: "big", Path: path, Display: "big.csv", Format: CSV, Pick: tt.pick, Cursor: tt.cursor, Columns: in.Columns}
			size := in.Size
			if tt.json {
				spec.Path, spec.Display, spec.Format, spec.Columns = jsonPath, "big.json", JSON, jin.Columns
				size = jin.Size
			}
			before := liveHeap()
			src, err := Open(spec)
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			rng := rand.New(rand.NewPCG(1, 2))
			var cursors []*Cursor
			for range tt.vus {
				cursors = append(cursors, src.NewCursor())
			}
			for _, c := range cursors {
				for range tt.draws {
					if err := c.Next(rng); err != nil {
						t.Fatal(err)
					}
				}
			}
			after := liveHeap()
			runtime.KeepAlive(cursors)
			runtime.KeepAlive(src)
			grew := after - before
			t.Logf("live heap grew by %d KiB reading a %d KiB file", grew>>10, size>>10)
			switch {
			case !tt.grows && grew > limit:
				t.Errorf("the live heap grew by %d KiB: memory grows with the file (%d KiB)", grew>>10, size>>10)
			case tt.grows && grew < size:
				t.Errorf("the control grew by %d KiB only, less than the file (%d KiB): the measure is blind", grew>>10, size>>10)
			}
		})
	}
}
