package engine

// WithBeforeDispatch returns opts whose open-model dispatchers call f with
// each due hit's number before taking its lag: a hook that sleeps (under
// testing/synctest) makes the generator late by exactly that long.
func WithBeforeDispatch(opts Options, f func(hit uint64)) Options {
	opts.beforeDispatch = f
	return opts
}
