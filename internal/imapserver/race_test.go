//go:build race

package imapserver

const raceEnabled = true
