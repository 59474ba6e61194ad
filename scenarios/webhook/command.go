package webhook

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/runplan/runplan/engine/driver"
	"github.com/runplan/runplan/engine/redact"
	"github.com/runplan/runplan/scenarios/webhook/sink"
)

// sinkSecretEnv holds the signing secret when --secret is not given, so that
// it stays out of the process list and shell history.
const sinkSecretEnv = "RUNPLAN_SINK_SECRET"

func init() {
	driver.RegisterCommand(driver.Command{Name: "sink", Synopsis: "sink --listen ADDR",
		Summary: "run the embedded webhook sink on its own", Run: runSink})
}

// runSink is `runplan sink`: it runs the embedded webhook sink standalone
// until ctx ends (SIGINT or SIGTERM). It prints the webhook URL, alone on
// the first line of stdout, logs every request to stderr (the token masked)
// and a summary when it stops.
func runSink(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := driver.CommandFlags("sink", "runplan sink --listen 127.0.0.1:PORT [--flavor discord|slack|generic] [flags]", stdout, stderr)
	listen := fs.String("listen", "127.0.0.1:0", "address to listen on (port 0: any free port)")
	flavor := fs.String("flavor", sink.FlavorDiscord, "service to emulate: discord, slack or generic")
	token := fs.String("token", "", "the webhook's token (default: random)")
	webhookID := fs.String("webhook-id", "", "the webhook's id: a snowflake for discord, T.../B... for slack")
	rate := fs.String("rate-limit", "", "the webhook's bucket, like 5/2s, or off (default: 5/2s discord, 5/5s slack, off generic)")
	channel := fs.String("channel-limit", "off", "discord: the channel's write limit, like 30/1m (429 code 20028)")
	global := fs.String("global-limit", "", "limit over all requests, like 50/s, or off (default: 50/s discord, off otherwise)")
	signing := fs.String("signing", "", "generic: verify signatures: github or standard")
	secret := fs.String("secret", "", "generic: the signing secret (default: $"+sinkSecretEnv+")")
	quiet := fs.Bool("quiet", false, "do not log every request")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return driver.ExitOK
		}
		return driver.ExitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(fs.Output(), "runplan sink: unexpected argument %q\n", fs.Arg(0))
		fs.Usage()
		return driver.ExitUsage
	}
	opts := sink.Options{Flavor: *flavor, Token: *token, WebhookID: *webhookID, Signing: *signing, Secret: *secret}
	if opts.Secret == "" {
		opts.Secret = os.Getenv(sinkSecretEnv)
	}
	var errs []string
	for _, l := range []struct {
		flag, val string
		dst       *sink.Limit
	}{{"--rate-limit", *rate, &opts.RateLimit}, {"--channel-limit", *channel, &opts.ChannelLimit}, {"--global-limit", *global, &opts.GlobalLimit}} {
		if l.val == "" {
			continue
		}
		lim, err := sink.ParseLimit(l.val)
		if err != nil {
			errs = append(errs, fmt.Sprintf("%s %q: %v", l.flag, l.val, sink.ErrBadLimit))
			continue
		}
		*l.dst = lim
	}
	if err := opts.Check(); err != nil {
		// Check never quotes the token or the secret.
		errs = append(errs, strings.ReplaceAll(err.Error(), "\n", "; "))
	}
	if len(errs) > 0 {
		for _, e := range errs {
			fmt.Fprintln(stderr, "runplan sink:", e)
		}
		return driver.ExitUsage
	}
	var mu sync.Mutex // serialises stderr between request goroutines
	logf := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(stderr, format, args...)
	}
	if !*quiet {
		opts.OnRequest = func(ri sink.RequestInfo) { logf("%s\n", requestLine(ri)) }
	}
	s := sink.New(opts)
	if err := s.Start(*listen); err != nil {
		fmt.Fprintln(stderr, "runplan sink:", err)
		return driver.ExitRuntime
	}
	defer s.Close()
	// The URL holds the token: it goes to stdout once, for the user to
	// copy, and nowhere else. It is the one thing runplan prints unmasked
	// on purpose (past the masking writer): the user asked for it.
	fmt.Fprintln(redact.Unmasked(stdout), s.URL())
	o := s.Options()
	logf("runplan sink: %s-compatible webhook listening on %s (rate limit %s, global %s); post to the URL printed on stdout; Ctrl-C to stop\n",
		o.Flavor, s.Addr(), o.RateLimit, o.GlobalLimit)
	<-ctx.Done()
	if err := s.Close(); err != nil {
		logf("runplan sink: %v\n", err)
	}
	st := s.Stats()
	logf("runplan sink: received %d, accepted %d, rejected %d (429: %d, faults: %d); delivered %d, duplicates %d, out of order %d",
		st.Received, st.Accepted, st.Rejected, st.RateLimited, st.Faulted, st.Delivered, st.Duplicates, st.OutOfOrder)
	if st.Latency.Count > 0 {
		logf("; receive latency p50 %s, p99 %s, max %s", st.Latency.P50, st.Latency.P99, st.Latency.Max)
	}
	logf("\n")
	return driver.ExitOK
}

// requestLine formats one answered request for the log.
func requestLine(ri sink.RequestInfo) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s %s ", ri.Time.Format(time.TimeOnly+".000"), ri.Method, ri.Path)
	if ri.Fault != "" {
		b.WriteString("fault=" + ri.Fault)
	} else {
		fmt.Fprint(&b, ri.Status)
	}
	if ri.Code != 0 {
		fmt.Fprintf(&b, " code=%d", ri.Code)
	}
	if ri.Error != "" {
		b.WriteString(" error=" + ri.Error)
	}
	if ri.Message != "" {
		b.WriteString(" message=" + ri.Message)
	}
	if ri.Duplicate {
		b.WriteString(" duplicate")
	}
	if ri.Latency > 0 {
		fmt.Fprintf(&b, " latency=%s", ri.Latency.Round(time.Microsecond))
	}
	return b.String()
}
