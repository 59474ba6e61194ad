package report

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/runplan/runplan/schema"
)

// TestReadsEveryTimestampTheSchemaAccepts: a report whose date-times are
// written as RFC 3339 allows (and the report schema accepts) reads back
// with the instant written; one the schema refuses is refused.
func TestReadsEveryTimestampTheSchemaAccepts(t *testing.T) {
	t.Parallel()
	sample, err := os.ReadFile(filepath.Join("testdata", "sample.json"))
	if err != nil {
		t.Fatal(err)
	}
	const written = `"started_at": "2026-12-01T21:48:58.592227901Z"`
	if !bytes.Contains(sample, []byte(written)) {
		t.Fatal("testdata/sample.json's started_at changed: update this test")
	}
	utc := func(s string) time.Time {
		tm, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	tests := []struct {
		ts   string
		want time.Time // zero: refused by the schema and the reader
	}{
		{"2026-12-01T21:48:58.592227901Z", utc("2026-12-01T21:48:58.592227901Z")},
		{"2026-12-01t21:48:58.592227901z", utc("2026-12-01T21:48:58.592227901Z")},
		{"2026-12-01t21:48:58Z", utc("2026-12-01T21:48:58Z")},
		{"2026-12-01T22:48:58.5+01:00", utc("2026-12-01T21:48:58.5Z")},
		{"2026-12-01t16:18:58-05:30", utc("2026-12-01T21:48:58Z")},
		{"2026-12-01T21:48:58-00:00", utc("2026-12-01T21:48:58Z")},
		{"2026-12-01T21:48:58.1234567891234Z", utc("2026-12-01T21:48:58.123456789Z")},
		{"2016-12-31T23:59:60Z", utc("2017-01-01T00:00:00Z")},        // a leap second
		{"2017-01-01T00:59:60.5+01:00", utc("2017-01-01T00:00:00Z")}, // the same, at +01:00
		{"2026-12-01 21:48:58Z", time.Time{}},                        // a space: RFC 3339's grammar says T
		{"2026-12-01T21:48:58", time.Time{}},                         // no offset
		{"2026-12-01T21:48:60Z", time.Time{}},                        // not a leap second
		{"2026-02-30T21:48:58Z", time.Time{}},                        // no such day
	}
	for _, tt := range tests {
		t.Run(tt.ts, func(t *testing.T) {
			t.Parallel()
			b := bytes.Replace(sample, []byte(written), []byte(`"started_at": "`+tt.ts+`"`), 1)
			var doc any
			if err := json.Unmarshal(b, &doc); err != nil {
				t.Fatal(err)
			}
			schemaErr := schema.ValidateReportWith(doc, nil)
			var r Report
			readErr := json.Unmarshal(b, &r)
			if tt.want.IsZero() {
				if schemaErr == nil || readErr == nil {
					t.Errorf("schema: %v, read: %v; want both to refuse it", schemaErr, readErr)
				}
				return
			}
			if schemaErr != nil {
				t.Fatalf("the report schema refuses it: %v", schemaErr)
			}
			if readErr != nil {
				t.Fatalf("the schema accepts it, the reader refuses it: %v", readErr)
			}
			if !r.StartedAt.Equal(tt.want) {
				t.Errorf("started_at = %v, want %v", r.StartedAt, tt.want)
			}
		})
	}
}

// TestLeftoverAndDeadRunTimestamps: a leftover's until, a dead run's
// started_at and a target's server_sampled_from and _to read as the
// report's own date-times do.
func TestLeftoverAndDeadRunTimestamps(t *testing.T) {
	t.Parallel()
	var tg Target
	if err := json.Unmarshal([]byte(`{"name":"c","driver":"redis","kind":"managed","server_sampled_from":"2026-12-01t21:48:58z","server_sampled_to":"2026-12-01t22:48:59+01:00"}`), &tg); err != nil {
		t.Fatal(err)
	}
	if tg.ServerSampledFrom == nil || tg.ServerSampledTo == nil || tg.Name != "c" ||
		!tg.ServerSampledFrom.Equal(time.Date(2026, 12, 1, 21, 48, 58, 0, time.UTC)) || !tg.ServerSampledTo.Equal(time.Date(2026, 12, 1, 21, 48, 59, 0, time.UTC)) {
		t.Errorf("target = %+v", tg)
	}
	var l Leftover
	if err := json.Unmarshal([]byte(`{"target":"c","kind":"pause","name":"all","what":"x","until":"2026-12-01t21:48:58z"}`), &l); err != nil {
		t.Fatal(err)
	}
	if l.Until == nil || !l.Until.Equal(time.Date(2026, 12, 1, 21, 48, 58, 0, time.UTC)) || l.Target != "c" {
		t.Errorf("leftover = %+v", l)
	}
	var d DeadRun
	if err := json.Unmarshal([]byte(`{"run_id":"r","pid":1,"host":"h","started_at":"2026-12-01t22:48:58+01:00","state":"dead","target":"c","server":"s","changes":[]}`), &d); err != nil {
		t.Fatal(err)
	}
	if !d.Started.Equal(time.Date(2026, 12, 1, 21, 48, 58, 0, time.UTC)) || d.RunID != "r" {
		t.Errorf("dead run = %+v", d)
	}
}

// TestEveryReportTimeHasAReader: every struct of the report model that
// holds a time.Time reads it itself (an UnmarshalJSON with timestamp), so
// that a date-time added to the report reads as its schema accepts it.
func TestEveryReportTimeHasAReader(t *testing.T) {
	t.Parallel()
	timeType := reflect.TypeOf(time.Time{})
	unmarshaler := reflect.TypeOf((*json.Unmarshaler)(nil)).Elem()
	seen := map[reflect.Type]bool{}
	var walk func(typ reflect.Type)
	walk = func(typ reflect.Type) {
		for typ.Kind() == reflect.Pointer || typ.Kind() == reflect.Slice || typ.Kind() == reflect.Array || typ.Kind() == reflect.Map {
			typ = typ.Elem()
		}
		if typ.Kind() != reflect.Struct || typ == timeType || seen[typ] {
			return
		}
		seen[typ] = true
		for i := range typ.NumField() {
			f := typ.Field(i)
			ft := f.Type
			for ft.Kind() == reflect.Pointer || ft.Kind() == reflect.Slice {
				ft = ft.Elem()
			}
			if ft == timeType && f.Tag.Get("json") != "-" && f.Tag.Get("json") != "" && !reflect.PointerTo(typ).Implements(unmarshaler) {
				t.Errorf("%s.%s is a time.Time read by time.Time alone: give %s an UnmarshalJSON that reads it as a timestamp", typ.Name(), f.Name, typ.Name())
			}
			walk(f.Type)
		}
	}
	walk(reflect.TypeOf(Report{}))
}
