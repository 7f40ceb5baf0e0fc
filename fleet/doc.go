// Package fleet runs many WeChat accounts on many processes: each process runs whichever
// accounts it can lease, up to a limit, and when a process dies the others take its accounts
// over once their leases expire, each resuming the stored session from the position it
// committed, so that no message is lost.
package fleet
