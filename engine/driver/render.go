package driver

// Renderer is implemented by prepared Steps that can say what Do would
// send for an iteration, for `runplan render`: the commands with their
// arguments, the requests with their method, URL, headers and body. The
// engine finds it by type assertion; a step without it is shown as not
// renderable.
//
// Render is called on a prepared step that may never be bound: before (or
// without) Bind and Open, so it does no I/O and reads nothing of a Target.
// It must draw from it.Rand and it.Templates exactly what Do would draw,
// in the same order, so that the values shown for one seed are those a run
// with that seed sends, and the steps and iterations after it draw the
// same values too. Where Do's draws depend on a reply (a cache lookup that
// hits draws no fill value), Render documents the reply it assumes. A
// value a reply would give (a capture) is shown as a placeholder such as
// <captured: msg_id>.
//
// Each line says one thing sent, readable as text: a Redis command quoted
// as redis-cli reads it, an HTTP request line, a header, a body. Secrets
// are masked (passwords, webhook tokens, Authorization values); large
// generated values are shown by their size. On a template error Render
// returns the lines rendered so far and the error as Do would report it;
// the engine stops the iteration there, as a run does. Render is safe for
// concurrent use with other iterations' states.
type Renderer interface {
	Render(it *Iteration) ([]string, error)
}
