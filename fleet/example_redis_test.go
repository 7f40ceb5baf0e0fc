package fleet_test

import (
	"context"
	"log"
	"log/slog"
	"os"
	"os/signal"

	"github.com/redis/go-redis/v9"

	"github.com/wxkit/wechat"
	"github.com/wxkit/wechat/fleet"
	"github.com/wxkit/wechat/redisstore"
)

// Run, in each process of a fleet, up to 50 of the accounts listed in the Redis set "bots".
// Start as many processes as you like, on as many machines: each account runs in exactly one
// of them, and the accounts of a process that dies move to the others within the lease's TTL
// (10 s) and one scan interval (5 s). (Compiled, not run: it needs a Redis server.)
func Example() {
	rdb := redis.NewClient(&redis.Options{Addr: "localhost:6379", ContextTimeoutEnabled: true})
	defer rdb.Close()

	r := fleet.New(
		func(account string) wechat.SessionLocker { return redisstore.New(rdb, account) },
		func(account string, store wechat.SessionLocker) *wechat.Client {
			c := wechat.New(
				wechat.WithSessionStore(store),
				wechat.WithLoginPolicy(wechat.LoginNoQR), // nobody watches a QR code here
				wechat.WithLogger(slog.Default().With("account", account)),
			)
			c.HandleFunc(wechat.IsText, func(ctx context.Context, m *wechat.Message) error {
				_, err := c.SendText(ctx, m.FromUserName, m.Content)
				return err
			})
			return c
		},
		fleet.WithAccountSource(func(ctx context.Context) ([]string, error) {
			return rdb.SMembers(ctx, "bots").Result()
		}),
		fleet.WithMaxAccounts(50),
		fleet.WithEventHandler(func(e fleet.Event) { log.Print(e) }),
	)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	_ = r.Run(ctx) // ctx.Err(): every Client has stopped and released its lease
}
