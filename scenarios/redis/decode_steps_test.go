package redis

import (
	"fmt"
	"strconv"
	"testing"
)

// TestStepMessages holds the exact wording and place of the messages of the
// mapping-shaped step options (cache_get, on_miss, the batch form, sizes),
// which decode through engine/decode and keep the words they had before.
func TestStepMessages(t *testing.T) {
	t.Parallel()
	tests := []struct {
		src  string
		want []wantErr
	}{
		{`{cache_get: {key: a, key: b}}`, []wantErr{{1, 22, `redis: cache_get: duplicate key "key"`}}},
		{`{cache_get: {on_miss: {}}}`, []wantErr{{1, 13, `redis: cache_get: missing key`}}},
		{`{cache_get: {key: [a]}}`, []wantErr{{1, 19, `redis: cache_get: key: expected a string, got a sequence`}}},
		{`{cache_get: {key: a, zzzzzz: 1}}`, []wantErr{{1, 22, `redis: unknown key "zzzzzz" (expected one of: key, on_miss)`}}},
		{`{cache_get: {key: a, on_miss: }}`, []wantErr{{1, 31, `redis: cache_get: on_miss: expected a mapping with value_size, ttl and load_delay, got nothing (null)`}}},
		{`{cache_get: {key: a, on_miss: {ttl: 1s, ttl: 2s}}}`, []wantErr{{1, 41, `redis: cache_get: on_miss: duplicate key "ttl"`}}},
		{`{cache_get: {key: a, on_miss: {load_delay: -1s}}}`, []wantErr{{1, 44, `redis: load_delay must not be negative, got -1s`}}},
		{`{cache_get: {key: a, on_miss: {load_delay: [1]}}}`, []wantErr{{1, 44, `redis: load_delay: expected a duration such as 500ms or 5m, got a sequence`}}},
		{`{cache_get: {key: 5, on_miss: {value_size: x}, foo: 1}}`, []wantErr{
			{1, 44, `redis: value_size: expected an integer, got the string "x"`},
			{1, 48, `redis: unknown key "foo" (expected one of: key, on_miss)`}}},
		{`{command: [GET, a], zz: 1, yy: 2}`, []wantErr{
			{1, 21, `redis: unknown key "zz" (expected one of: cache_get, command, commands, pipeline, transaction)`},
			{1, 28, `redis: unknown key "yy" (expected one of: cache_get, command, commands, pipeline, transaction)`}}},
		{`{cache_get: {key: a}, cache_get: {key: b}}`, []wantErr{{1, 23, `redis: duplicate key "cache_get"`}}},
		{`{cache_get: {key: a}, pipeline: x, zz: 1}`, []wantErr{
			{1, 23, `redis: cache_get must be alone: pipeline does not apply to it`},
			{1, 36, `redis: unknown key "zz" (expected one of: cache_get, command, commands, pipeline, transaction)`}}},
		{`{command: [GET, a], pipeline: x}`, []wantErr{{1, 31, `redis: pipeline: expected an integer, got the string "x"`}}},
		{`{command: [GET, a], pipeline: 10001}`, []wantErr{{1, 31, `redis: pipeline must be between 1 and 10000, got 10001`}}},
		{`{command: [GET, a], pipeline: 2, pipeline: 3}`, []wantErr{{1, 34, `redis: duplicate key "pipeline"`}}},
		{`{command: [GET, a], transaction: 1}`, []wantErr{{1, 34, `redis: transaction: expected true or false, got the number 1`}}},
		{`{commands: 5}`, []wantErr{{1, 12, `redis: commands: expected a list of commands such as [[SET, k, v], [GET, k]], got the number 5`}}},
		{`[SET, k, {value_size: {min: 10, mx: 5}}]`, []wantErr{{1, 33, `redis: unknown key "mx" (did you mean "max"?)`}}},
		{`[SET, k, {value_size: {min: x, max: 600000000}}]`, []wantErr{
			{1, 29, `redis: SET argument 2 value_size min: expected an integer, got the string "x"`},
			{1, 37, `redis: SET argument 2 value_size max must be between 0 and 536870912, got 600000000`}}},
		{`[SET, k, {value_size: [{size: 1, weight: 0}, {size: 2, weight: x}]}]`, []wantErr{
			{1, 42, `redis: SET argument 2 value_size weight: expected a positive number, got the number 0`},
			{1, 64, `redis: SET argument 2 value_size weight: expected a positive number, got the string "x"`}}},
		{`[SET, k, {}]`, []wantErr{{1, 10, `redis: SET argument 2: expected a string, a number or {value_size: SIZE} (a generated value)`}}},
		{`[SET, k, {value_size: 1, a: 2}]`, []wantErr{{1, 26, `redis: unknown key "a" (expected one of: value_size)`}}},
		{`[SET, k, {value_size: [{size: 1, size: 2}]}]`, []wantErr{{1, 34, `redis: duplicate key "size"`}}},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			t.Parallel()
			_, err := prepareStep(stepSpec(t, tt.src))
			got := posErrors(err)
			if len(got) != len(tt.want) {
				t.Fatalf("got %d errors (%v), want %d", len(got), err, len(tt.want))
			}
			for i, w := range tt.want {
				if g := got[i]; g.Line != w.line || g.Col != w.col || g.Err.Error() != w.msg {
					t.Errorf("error %d = %d:%d: %v, want %d:%d: %s", i, g.Line, g.Col, g.Err, w.line, w.col, w.msg)
				}
			}
		})
	}
}

// TestStepBounds holds the bounds written in the options' tags to the
// constants they stand for.
func TestStepBounds(t *testing.T) {
	t.Parallel()
	tests := []struct {
		src string
		ok  bool
	}{
		{fmt.Sprintf(`{command: [GET, a], pipeline: %d}`, maxPipeline), true},
		{fmt.Sprintf(`{command: [GET, a], pipeline: %d}`, maxPipeline+1), false},
		{`[SET, k, {value_size: {min: 0, max: ` + strconv.Itoa(maxValueSize) + `}}]`, true},
		{`[SET, k, {value_size: {min: 0, max: ` + strconv.Itoa(maxValueSize+1) + `}}]`, false},
		{`[SET, k, {value_size: [{size: ` + strconv.Itoa(maxValueSize) + `, weight: 0.5}]}]`, true},
		{`[SET, k, {value_size: [{size: ` + strconv.Itoa(maxValueSize+1) + `}]}]`, false},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			t.Parallel()
			_, err := prepareStep(stepSpec(t, tt.src))
			if (err == nil) != tt.ok {
				t.Errorf("err = %v, want ok %v", err, tt.ok)
			}
		})
	}
}
