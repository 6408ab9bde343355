//go:build !race

package imapserver

const raceEnabled = false
