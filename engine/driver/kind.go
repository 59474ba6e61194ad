package driver

// KindPlanner is implemented by a Config that can say, without any I/O,
// what kind of target Open will give: KindEmbedded, KindManaged or
// KindExternal, with a few words for a reader (which server is started,
// which topology; "" when there is nothing to add). `runplan explain`
// shows it; a Config without it is taken as embedded when its target has
// no URL and external otherwise. Implementations are safe for concurrent
// use.
type KindPlanner interface {
	PlannedKind() (kind, note string)
}
