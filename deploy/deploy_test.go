// Package deploy_test checks the deployment files: the systemd unit with
// systemd-analyze, the container image with podman (each skipped with a
// message where the tool is missing).
package deploy_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSystemdUnitVerifies runs systemd-analyze verify on the unit, with
// ExecStart pointed at an executable that exists here.
func TestSystemdUnitVerifies(t *testing.T) {
	sa, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze is not installed")
	}
	unit, err := os.ReadFile("systemd/berth.service")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"DynamicUser=yes", "StateDirectory=berth", "ProtectSystem=strict", "NoNewPrivileges=yes",
		"CapabilityBoundingSet=\n", "ExecStart=/usr/local/bin/berth serve"} {
		if !strings.Contains(string(unit), want) {
			t.Errorf("the unit lacks %q", want)
		}
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "berth.service")
	text := strings.ReplaceAll(string(unit), "/usr/local/bin/berth", self)
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(sa, "verify", path).CombinedOutput()
	if err != nil {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
	if len(strings.TrimSpace(string(out))) > 0 {
		t.Fatalf("systemd-analyze verify has something to say:\n%s", out)
	}
}

// TestImageBuilds builds the image with podman (deploy/image/build.sh) and
// checks what it is: a non-root user, the /data volume, the health check,
// small. It then starts it and asks /readyz where this machine lets podman
// start containers.
func TestImageBuilds(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a container image: skipped with -short")
	}
	podman, err := exec.LookPath("podman")
	if err != nil {
		t.Skip("podman is not installed (deploy/README.md)")
	}
	tag := "localhost/berth-test:" + time.Now().Format("20060102150405")
	build := exec.Command("bash", "image/build.sh", tag)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build.sh: %v\n%s", err, out)
	}
	t.Cleanup(func() { exec.Command(podman, "rmi", "-f", tag).Run() })
	out, err := exec.Command(podman, "image", "inspect", tag).Output()
	if err != nil {
		t.Fatal(err)
	}
	var images []struct {
		Size int64
		// podman puts the health check at the top; docker's format in Config.
		Healthcheck struct{ Test []string }
		Config      struct {
			User        string
			Volumes     map[string]any
			Entrypoint  []string
			Healthcheck struct{ Test []string }
		}
	}
	if err := json.Unmarshal(out, &images); err != nil || len(images) != 1 {
		t.Fatalf("inspect: %v %s", err, out)
	}
	img := images[0]
	if img.Config.User != "65532:65532" {
		t.Errorf("user %q, want 65532:65532", img.Config.User)
	}
	if _, ok := img.Config.Volumes["/data"]; !ok {
		t.Errorf("volumes %v, want /data", img.Config.Volumes)
	}
	if hc := strings.Join(append(img.Healthcheck.Test, img.Config.Healthcheck.Test...), " "); !strings.Contains(hc, "/berth healthcheck") {
		t.Errorf("health check %q", hc)
	}
	if img.Size > 60<<20 {
		t.Errorf("image is %d MB, want a small one", img.Size>>20)
	}
	t.Logf("image %s: %.1f MB", tag, float64(img.Size)/(1<<20))

	name := strings.ReplaceAll(strings.TrimPrefix(tag, "localhost/"), ":", "-")
	t.Cleanup(func() { exec.Command(podman, "rm", "-f", name).Run() })
	run := exec.Command(podman, "run", "-d", "--name", name, "-p", "127.0.0.1::8080", tag)
	if out, err := run.CombinedOutput(); err != nil {
		if strings.Contains(string(out), "setrlimit") || strings.Contains(string(out), "rlimit") {
			t.Skipf("the image is built; this machine does not let podman start a container: %s", strings.TrimSpace(string(out)))
		}
		t.Fatalf("podman run: %v\n%s", err, out)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		out, err := exec.Command(podman, "exec", name, "/berth", "healthcheck").CombinedOutput()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			logs, _ := exec.Command(podman, "logs", name).CombinedOutput()
			t.Fatalf("not ready within 60s: %s\n%s", out, logs)
		}
		time.Sleep(time.Second)
	}
}
