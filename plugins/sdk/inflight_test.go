package sdk

import (
	"testing"
	"time"
)

func TestInflightDrain(t *testing.T) {
	var f inflight
	if err := f.enter(); err != nil {
		t.Fatal(err)
	}
	left := make(chan time.Time, 1)
	go func() {
		time.Sleep(50 * time.Millisecond)
		left <- time.Now()
		f.leave()
	}()
	f.drain(5 * time.Second)
	if done := time.Now(); done.Before(<-left) {
		t.Error("drain returned before the call in flight left")
	}
	if err := f.enter(); err == nil {
		t.Error("a call entered after drain")
	}
	start := time.Now()
	var stuck inflight
	stuck.enter()
	stuck.drain(20 * time.Millisecond)
	if took := time.Since(start); took > time.Second {
		t.Errorf("drain of a stuck call took %v, want its bound", took)
	}
}
