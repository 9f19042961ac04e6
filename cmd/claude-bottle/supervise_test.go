package main

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/claude-bottle/claude-bottle/config"
	"github.com/claude-bottle/claude-bottle/launch"
)

func TestSuperviseOptions(t *testing.T) {
	for _, tc := range []struct {
		name    string
		file    string
		flag    string
		grace   time.Duration
		want    launch.SuperviseOptions
		wantErr string
	}{
		{name: "defaults", grace: launch.DefaultSwapGrace, want: launch.SuperviseOptions{SwapGrace: launch.DefaultSwapGrace}},
		{name: "config", file: "claude -c", grace: time.Second, want: launch.SuperviseOptions{ResumeCommand: "claude -c", SwapGrace: time.Second}},
		{name: "flag over config", file: "claude -c", flag: "sh resume.sh", grace: 3 * time.Second, want: launch.SuperviseOptions{ResumeCommand: "sh resume.sh", SwapGrace: 3 * time.Second}},
		{name: "no grace", grace: 0, want: launch.SuperviseOptions{SwapGrace: -1}},
		{name: "blank command", flag: "  ", grace: time.Second, wantErr: "--resume-command is blank"},
		{name: "negative grace", grace: -time.Second, wantErr: "--swap-grace -1s"},
		{name: "huge grace", grace: time.Hour, wantErr: "--swap-grace 1h0m0s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := superviseOptions(config.Settings{ResumeCommand: tc.file}, &launchOptions{resumeCommand: tc.flag, swapGrace: tc.grace})
			if tc.wantErr != "" {
				var ue *usageError
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !errors.As(err, &ue) {
					t.Fatalf("err = %v, want a usage error saying %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || got.ResumeCommand != tc.want.ResumeCommand || got.SwapGrace != tc.want.SwapGrace {
				t.Errorf("superviseOptions = %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}
