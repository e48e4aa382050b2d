package loadbench

import "testing"

func TestPendingJobs(t *testing.T) {
	metrics := []byte(`# HELP berth_jobs Jobs in the durable job queue
berth_jobs{kind="deliver",state="available"} 2
berth_jobs{kind="deliver_batch",state="running"} 1
berth_jobs{kind="drain_queue",state="available"} 40
berth_jobs{kind="drain_queue",state="discarded"} 3
berth_jobs{kind="remove",state="retryable"} 1
berth_jobs{kind="probe",state="available"} 5
berth_jobs_oldest_available_age_seconds{kind="deliver"} 7
`)
	if n := pendingJobs(metrics); n != 44 {
		t.Fatalf("pendingJobs = %d, want 44 (2 + 1 + 40 + 1; discarded and probe left out)", n)
	}
	if n := pendingJobs([]byte("berth_jobs{kind=\"deliver\",state=\"available\"} 0\n")); n != 0 {
		t.Fatalf("idle: %d", n)
	}
}
