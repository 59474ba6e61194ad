package cli

import (
	"maps"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

// scheduleArgs are the arguments of docs/DEPLOY.md's CronJob example.
var scheduleArgs = []string{"../../../plans/phase1.yaml", "--schedule", "0 3 * * *", "--image", "registry.example.com/runplan:v1"}

// decodeSchedule decodes the three documents of k8s --schedule strictly
// (an unknown field fails) and returns them with the CronJob's text.
func decodeSchedule(t *testing.T, manifests string) (corev1.ConfigMap, corev1.PersistentVolumeClaim, batchv1.CronJob, string) {
	t.Helper()
	docs := strings.Split(manifests, "\n---\n")
	if len(docs) != 3 {
		t.Fatalf("%d documents, want 3 (ConfigMap, PVC, CronJob):\n%s", len(docs), manifests)
	}
	var (
		cm    corev1.ConfigMap
		claim corev1.PersistentVolumeClaim
		cron  batchv1.CronJob
	)
	for i, v := range []any{&cm, &claim, &cron} {
		if err := yaml.UnmarshalStrict([]byte(docs[i]), v); err != nil {
			t.Fatalf("document %d: %v\n%s", i, err, docs[i])
		}
	}
	for _, tm := range []struct{ got, want string }{
		{cm.APIVersion + " " + cm.Kind, "v1 ConfigMap"},
		{claim.APIVersion + " " + claim.Kind, "v1 PersistentVolumeClaim"},
		{cron.APIVersion + " " + cron.Kind, "batch/v1 CronJob"},
	} {
		if tm.got != tm.want {
			t.Errorf("kind %q, want %q", tm.got, tm.want)
		}
	}
	return cm, claim, cron, docs[2]
}

// TestK8sSchedule: --schedule prints a ConfigMap, a claim and a CronJob
// that runs the plan once per schedule tick, one pod, with the plan's
// variables from the Secret by reference and each run's reports under its
// Job's name.
func TestK8sSchedule(t *testing.T) {
	t.Parallel()
	code, stdout, stderr := runK8s(t, time.Unix(0, 0), scheduleArgs...)
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	cm, claim, cron, _ := decodeSchedule(t, stdout)
	if _, ok := cm.Data["phase1.yaml"]; !ok {
		t.Errorf("ConfigMap keys %v lack the plan", slices.Collect(maps.Keys(cm.Data)))
	}
	if claim.Spec.AccessModes[0] != corev1.ReadWriteOnce {
		t.Errorf("claim access %v, want ReadWriteOnce (one run at a time)", claim.Spec.AccessModes)
	}
	s := cron.Spec
	if s.Schedule != "0 3 * * *" || s.TimeZone == nil || *s.TimeZone != "Etc/UTC" {
		t.Errorf("schedule %q in %v", s.Schedule, s.TimeZone)
	}
	if s.ConcurrencyPolicy != batchv1.ForbidConcurrent || s.StartingDeadlineSeconds == nil || *s.StartingDeadlineSeconds <= 0 {
		t.Errorf("concurrency %q, starting deadline %v: want Forbid and a deadline", s.ConcurrencyPolicy, s.StartingDeadlineSeconds)
	}
	job := s.JobTemplate.Spec
	if job.BackoffLimit == nil || *job.BackoffLimit != 0 {
		t.Errorf("backoffLimit %v, want 0: a verdict is not retried", job.BackoffLimit)
	}
	if job.ActiveDeadlineSeconds == nil || *job.ActiveDeadlineSeconds <= 30 {
		t.Errorf("activeDeadlineSeconds %v, want the plan's length and a margin", job.ActiveDeadlineSeconds)
	}
	pod := job.Template.Spec
	if len(pod.Containers) != 1 {
		t.Fatalf("%d containers", len(pod.Containers))
	}
	c := pod.Containers[0]
	if c.Image != "registry.example.com/runplan:v1" || c.Command[0] != "runplan" {
		t.Errorf("image %q, command %v", c.Image, c.Command)
	}
	args := strings.Join(c.Args, " ")
	for _, want := range []string{"run /plan/phase1.yaml", "--out /reports/$(JOB_NAME).json", "--junit /reports/$(JOB_NAME).junit.xml",
		"--markdown /reports/$(JOB_NAME).md", "--html /reports/$(JOB_NAME).html", "--no-progress"} {
		if !strings.Contains(args, want) {
			t.Errorf("args %q lack %q", args, want)
		}
	}
	if strings.Contains(args, "--start-at") || strings.Contains(args, "--segment") {
		t.Errorf("args %q: a scheduled run is not segmented", args)
	}
	env := map[string]corev1.EnvVar{}
	for _, e := range c.Env {
		env[e.Name] = e
	}
	// $(JOB_NAME) expands only when the variable is declared before use.
	if e := env["JOB_NAME"]; e.ValueFrom == nil || e.ValueFrom.FieldRef == nil ||
		e.ValueFrom.FieldRef.FieldPath != "metadata.labels['batch.kubernetes.io/job-name']" {
		t.Errorf("JOB_NAME %+v", e)
	}
	for _, v := range []string{"REDIS_URL", "DISCORD_WEBHOOK_URL"} {
		e, ok := env[v]
		if !ok || e.Value != "" || e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil ||
			e.ValueFrom.SecretKeyRef.Name != "phase1-infrastructure-env" || e.ValueFrom.SecretKeyRef.Key != v {
			t.Errorf("%s: %+v, want a reference to Secret phase1-infrastructure-env", v, e)
		}
	}
	checkMounts(t, pod)
	checkSecurity(t, pod)
	if !strings.Contains(stdout, "# runplan k8s --schedule: plan phase1-infrastructure, CronJob phase1-infrastructure") {
		t.Errorf("header:\n%s", stdout[:min(len(stdout), 300)])
	}
}

// TestK8sScheduleErrors: what a CronJob cannot do is refused with a
// message that says why.
func TestK8sScheduleErrors(t *testing.T) {
	t.Parallel()
	plan := "../../../plans/phase1.yaml"
	tests := []struct {
		args []string
		want string
	}{
		{[]string{plan, "--schedule", "@daily", "--parallelism", "3"}, "--parallelism apply to a segmented run only"},
		{[]string{plan, "--schedule", "@daily", "--start-lead", "1m", "--run-id", "x"}, "--run-id, --start-lead apply"},
		{[]string{plan, "--schedule", "every day"}, `--schedule "every day": want five cron fields`},
		{[]string{plan, "--schedule", "TZ=UTC 0 3 * * *"}, "the time zone goes in --time-zone"},
		{[]string{plan, "--schedule", "0 3 * *"}, "want five cron fields"},
		{[]string{plan, "--schedule", "@daily", "--time-zone", "Mars/Olympus"}, `--time-zone "Mars/Olympus"`},
		{[]string{plan}, "or --schedule CRON"},
		{[]string{plan, "--schedule", "@daily"}, "no --image: build runplan's image"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args[1:], " "), func(t *testing.T) {
			t.Parallel()
			code, stdout, stderr := runK8s(t, time.Unix(0, 0), tt.args...)
			if code != ExitUsage || stdout != "" || !strings.Contains(stderr, tt.want) {
				t.Errorf("exit %d, stdout %d bytes, stderr %q: want exit %d and %q", code, len(stdout), stderr, ExitUsage, tt.want)
			}
		})
	}
	// --parallelism 1 is what a schedule is: accepted.
	if code, _, stderr := runK8s(t, time.Unix(0, 0), plan, "--schedule", "@daily", "--parallelism", "1", "--image", "r/runplan:1"); code != ExitOK {
		t.Errorf("--parallelism 1: exit %d: %s", code, stderr)
	}
}

var deployCronJob = regexp.MustCompile("(?s)<!-- cronjob: runplan k8s plans/phase1.yaml --schedule \"0 3 \\* \\* \\*\" --image registry.example.com/runplan:v1 -->\n```yaml\n(.*?)```\n")

// TestDeployCronJobDoc: the CronJob that docs/DEPLOY.md shows is the one
// runplan k8s --schedule prints, and decodes strictly with k8s.io/api.
func TestDeployCronJobDoc(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile("../../../docs/DEPLOY.md")
	if err != nil {
		t.Fatal(err)
	}
	m := deployCronJob.FindSubmatch(doc)
	if m == nil {
		t.Fatalf("docs/DEPLOY.md lacks the CronJob example after its marker %s", deployCronJob)
	}
	var shown batchv1.CronJob
	if err := yaml.UnmarshalStrict(m[1], &shown); err != nil {
		t.Fatalf("docs/DEPLOY.md's CronJob does not decode strictly: %v", err)
	}
	code, stdout, stderr := runK8s(t, time.Unix(0, 0), scheduleArgs...)
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	_, _, _, generated := decodeSchedule(t, stdout)
	if want := strings.TrimSuffix(generated, "\n") + "\n"; string(m[1]) != want {
		t.Errorf("docs/DEPLOY.md's CronJob is not what runplan k8s %s prints now; paste this:\n%s", strings.Join(scheduleArgs, " "), want)
	}
}
