package redisstore_test

import (
	"context"
	"errors"
	"log"

	"github.com/redis/go-redis/v9"
	"github.com/wxkit/wechat"
	"github.com/wxkit/wechat/redisstore"
)

// Run one account under its lease: Run takes it, a second process gets ErrLeaseHeld, and a
// Run that loses the lease stops with ErrLeaseLost. (Compiled, not run: it needs a Redis
// server.)
func ExampleStore_Lock() {
	rdb := redis.NewClient(&redis.Options{Addr: "localhost:6379", ContextTimeoutEnabled: true})
	defer rdb.Close()

	c := wechat.New(wechat.WithSessionStore(redisstore.New(rdb, "support-desk-1")))
	err := c.Run(context.Background())
	switch {
	case errors.Is(err, wechat.ErrLeaseHeld):
		log.Print("another process runs this account")
	case errors.Is(err, wechat.ErrLeaseLost):
		log.Print("lease lost: another process may run the account now")
	case !errors.Is(err, context.Canceled):
		log.Print(err)
	}
}
