package metrics

// Observe sets a function that Record calls with every sample it adds, after
// adding it, on the recording goroutine: the function must be safe for
// concurrent use and quick. Set it before recording starts (it is not
// guarded); nil removes it.
//
// The fault windows use it to see each completion's exact time, which the
// interval points round away (engine/fault.Timeline, engine/fault.Window).
func (s *Series) Observe(f func(Sample)) { s.observe = f }
