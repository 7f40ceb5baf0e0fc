package redisstore_test

import (
	"context"
	"errors"
	"log"

	"github.com/redis/go-redis/v9"
	"github.com/wxkit/wechat"
	"github.com/wxkit/wechat/redisstore"
)

// Run one account under its lease: a second process gets ErrLeaseHeld, and a holder that
// loses the lease stops. (Compiled, not run: it needs a Redis server.)
func ExampleStore_Lock() {
	rdb := redis.NewClient(&redis.Options{Addr: "localhost:6379", ContextTimeoutEnabled: true})
	defer rdb.Close()
	st := redisstore.New(rdb, "support-desk-1")

	ctx := context.Background()
	lease, err := st.Lock(ctx)
	if errors.Is(err, wechat.ErrLeaseHeld) {
		log.Print("another process runs this account")
		return
	}
	if err != nil {
		log.Fatal(err)
	}
	defer lease.Release(context.WithoutCancel(ctx))

	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	go func() { <-lease.Done(); cancel(lease.Err()) }()

	c := wechat.New(wechat.WithSessionStore(st))
	err = c.Run(ctx)
	if errors.Is(context.Cause(ctx), wechat.ErrLeaseLost) {
		log.Print("lease lost: another process may run the account now")
	} else if !errors.Is(err, context.Canceled) {
		log.Print(err)
	}
}
