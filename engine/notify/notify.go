// Package notify posts a run's outcome to status webhooks: a plan's
// `notify:` entries and the command line's --notify URLs. It speaks the
// three shapes of message runplan knows (a Discord embed, a Slack message,
// a generic JSON summary) through a small HTTP client of its own, which
// retries what a webhook service asks to be retried; it needs no driver.
//
// A webhook URL is a secret: nothing this package posts, returns or logs
// prints one (engine/redact).
package notify

import (
	"context"
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"github.com/runplan/runplan/engine/plan"
	"github.com/runplan/runplan/engine/redact"
	"github.com/runplan/runplan/engine/report"
)

// Flavors: the shape of a message, and how the service's answers read.
const (
	Discord = "discord"
	Slack   = "slack"
	Generic = "generic"
)

// Flavors lists the flavors, in the order runplan documents them.
var Flavors = []string{Discord, Slack, Generic}

// discordPath is the path of a Discord webhook (…/api/webhooks/{id}/{token},
// …/api/v10/webhooks/…), on discord.com or on anything that serves it (the
// webhook driver's embedded sink).
var discordPath = regexp.MustCompile(`^/api/(v[0-9]+/)?webhooks/`)

// Flavor names the service a webhook URL belongs to: slack for
// hooks.slack.com, discord for Discord's webhook paths, generic otherwise
// (also for a URL that does not parse). It is the one rule runplan uses,
// for notifications and for the webhook driver's targets alike. Pure and
// safe for concurrent use.
func Flavor(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return Generic
	}
	switch {
	case strings.EqualFold(u.Hostname(), "hooks.slack.com"):
		return Slack
	case discordPath.MatchString(u.Path):
		return Discord
	}
	return Generic
}

// Notification is where to post a run's outcome: a plan's `notify:` entry
// or a --notify URL.
type Notification struct {
	URL string
	// Flavor is discord, slack or generic; empty takes Flavor(URL).
	Flavor string
	// Always posts every outcome; otherwise only a failed one (a failed
	// check, a verdict other than ready, an invalid or partial run).
	Always bool
}

// flavor is the notification's flavor in force.
func (n Notification) flavor() string {
	if n.Flavor != "" {
		return n.Flavor
	}
	return Flavor(n.URL)
}

// FromPlan returns the plan's notify entries.
func FromPlan(p *plan.Plan) []Notification {
	var out []Notification
	for _, n := range p.Notify {
		out = append(out, Notification{URL: n.URL, Flavor: n.Flavor, Always: n.When == "always"})
	}
	return out
}

// Failed reports whether a report is a failure for notifications.
func Failed(r *report.Report) bool {
	if r.Partial || r.Invalid() || (r.Verdict != "ready" && r.Verdict != "unscored") {
		return true
	}
	for _, c := range r.Checks {
		if !c.Passed {
			return true
		}
	}
	return false
}

// Check checks a notification without any I/O: its URL parses, its scheme
// is http or https, it has a host, and its flavor is one runplan knows. The
// error never prints the URL's secrets. It is what runplan runs on --notify
// URLs and a plan's notify: entries before a run starts, so that a typo is
// not found only when the run is over. Safe for concurrent use.
func Check(n Notification) error {
	if err := check(n); err != nil {
		red := redact.New()
		red.AddURL(n.URL)
		return red.Error(err)
	}
	return nil
}

func check(n Notification) error {
	switch f := n.flavor(); f {
	case Discord, Slack, Generic:
	default:
		return fmt.Errorf("notify: flavor %q: use discord, slack or generic", f)
	}
	u, err := url.Parse(n.URL)
	if err != nil {
		return fmt.Errorf("notify: url %s does not parse: %s", redact.MaskURL(n.URL), redact.ParseReason(err))
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("notify: url %s: the scheme must be http or https", redact.MaskURL(n.URL))
	}
	if u.Host == "" {
		return fmt.Errorf("notify: url %s has no host", redact.MaskURL(n.URL))
	}
	return nil
}

// Send posts the outcome to each notification that wants it (every one
// with Always, the others when the run Failed). It returns one error per
// notification that could not be delivered; the caller logs them — a
// notification never changes the run's outcome.
//
// Every notification URL is registered with red (a webhook URL is a
// secret), and what is posted and returned passes through it: the body
// carries no secret red knows or that looks like a credential, and no
// error prints a notification's token. A nil red masks what looks like a
// credential and the notification URLs. Send is safe for concurrent use
// (red is).
func Send(ctx context.Context, r *report.Report, to []Notification, red *redact.Redactor) []error {
	if red == nil {
		red = redact.New()
	}
	for _, n := range to {
		red.AddURL(n.URL)
	}
	var errs []error
	for _, n := range to {
		if !n.Always && !Failed(r) {
			continue
		}
		if err := deliver(ctx, r, n, red); err != nil {
			errs = append(errs, red.Error(err))
		}
	}
	return errs
}

func deliver(ctx context.Context, r *report.Report, n Notification, red *redact.Redactor) error {
	if err := check(n); err != nil {
		return err
	}
	flavor := n.flavor()
	body := message(r, flavor)
	red.Walk(&body)
	return post(ctx, n.URL, flavor, body)
}
