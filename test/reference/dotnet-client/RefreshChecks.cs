// Authentication refresh (SignalR 11) with the official .NET client 11, against a hubwire server
// whose hub closes a connection when its user's authentication ends, and one whose hub admits
// anyone and keeps connections past their tokens' end. Usage:
//   DotnetClient11 --refresh http://127.0.0.1:PORT/guarded http://127.0.0.1:PORT2/open
// Prints one JSON line per check, as the other checks do. The servers read the test tokens of
// test/abuse/guarded-hub.ts: "<user>.<role>.<expires at, ms since the epoch>".
// Version 10 of the client has no refresh: there it throws.
using System.Text.Json;
using System.Threading.Channels;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR.Client;

namespace Hubwire.DotnetClient;

public static class RefreshChecks
{
    public static async Task Run(string url, string openUrl)
    {
#if SIGNALR11
        foreach (var transport in new[] { HttpTransportType.WebSockets, HttpTransportType.ServerSentEvents, HttpTransportType.LongPolling })
        {
            await Report($"{transport}:json", "authentication refresh", () => KeepsConnectionPastFirstToken(url, transport));
        }
        await Report("LongPolling:json", "refresh a poll asks for", () => PollsOnPastTokenEnd(openUrl));
#else
        await Task.FromException(new NotSupportedException($"this client has no authentication refresh ({url}, {openUrl})"));
#endif
    }

#if SIGNALR11
    private static async Task Report(string combo, string check, Func<Task> run)
    {
        string? error = null;
        try
        {
            await run().WaitAsync(TimeSpan.FromSeconds(30));
        }
        catch (Exception failure)
        {
            error = $"{failure.GetType().Name}: {failure.Message}";
        }
        Console.WriteLine(JsonSerializer.Serialize(new { combo, check, ok = error is null, error }));
    }
#endif

#if SIGNALR11
    /// <summary>
    /// Each token lasts 6 s from when the client asks for it (negotiate says 5, in whole seconds);
    /// the client refreshes halfway (less than twice the 3 s before the end it is given), after
    /// 2.5 s, and after each refresh again. Past the first token's end the connection is open,
    /// and its user is a fresh token's; an explicit refresh reports the new token's lifetime.
    /// </summary>
    private static async Task KeepsConnectionPastFirstToken(string url, HttpTransportType transport)
    {
        var lifetime = TimeSpan.FromSeconds(6);
        var firstExpiresAt = DateTimeOffset.MinValue;
        string NextToken()
        {
            var expiresAt = DateTimeOffset.UtcNow + lifetime;
            if (firstExpiresAt == DateTimeOffset.MinValue) firstExpiresAt = expiresAt;
            return $"root.admin.{expiresAt.ToUnixTimeMilliseconds()}";
        }
        var refreshed = 0;
        var closed = false;
        await using var connection = new HubConnectionBuilder()
            .WithUrl(url, transport, options => options.AccessTokenProvider = () => Task.FromResult<string?>(NextToken()))
            .WithAuthenticationRefresh(options => options.RefreshBeforeExpiration = TimeSpan.FromSeconds(3))
            .Build();
        connection.AuthenticationRefreshed += _ => { Interlocked.Increment(ref refreshed); return Task.CompletedTask; };
        connection.Closed += _ => { closed = true; return Task.CompletedTask; };
        await connection.StartAsync();
        var wait = firstExpiresAt + TimeSpan.FromMilliseconds(500) - DateTimeOffset.UtcNow;
        if (wait > TimeSpan.Zero) await Task.Delay(wait);
        if (closed || connection.State != HubConnectionState.Connected) throw new Exception($"the connection is {connection.State} past its first token's end");
        if (refreshed == 0) throw new Exception("no automatic refresh");
        // The admin policy's method: the connection's user is a fresh token's, not expired.
        var answer = await connection.InvokeAsync<string>("Restart");
        if (answer != "restarted") throw new Exception($"Restart answered {answer}");
        var newLifetime = await connection.RefreshAuthenticationAsync();
        if (newLifetime is not { } seconds || seconds < TimeSpan.FromSeconds(4) || seconds > lifetime)
            throw new Exception($"an explicit refresh reported a lifetime of {newLifetime}");
    }

    /// <summary>
    /// Long polling with tokens of 3 s and automatic refresh off, on a hub that keeps connections
    /// past their tokens' end: the client polls with the token it got at negotiate, so the poll
    /// after its end carries an ended one, which the server answers 409
    /// authentication_refresh_required. The client refreshes and polls on: the notices the hub
    /// sends after the end arrive, and the connection's user is still alice.
    /// </summary>
    private static async Task PollsOnPastTokenEnd(string url)
    {
        var firstExpiresAt = DateTimeOffset.MinValue;
        string NextToken()
        {
            var expiresAt = DateTimeOffset.UtcNow + TimeSpan.FromSeconds(3);
            if (firstExpiresAt == DateTimeOffset.MinValue) firstExpiresAt = expiresAt;
            return $"alice.user.{expiresAt.ToUnixTimeMilliseconds()}";
        }
        var notices = Channel.CreateUnbounded<string>();
        await using var connection = new HubConnectionBuilder()
            .WithUrl(url, HttpTransportType.LongPolling, options => options.AccessTokenProvider = () => Task.FromResult<string?>(NextToken()))
            // This client refreshes by itself unless told not to.
            .WithAuthenticationRefresh(options => options.EnableAutoRefresh = false)
            .Build();
        connection.On<string>("notice", text => notices.Writer.TryWrite(text));
        await connection.StartAsync();
        // The first a second after the token's end, the second a second later: only a poll after
        // the refresh can bring it.
        var afterEnd = (int)(firstExpiresAt - DateTimeOffset.UtcNow).TotalMilliseconds + 1_000;
        await connection.InvokeAsync("NoticeAfter", afterEnd, "one");
        await connection.InvokeAsync("NoticeAfter", afterEnd + 1_000, "two");
        foreach (var expected in new[] { "one", "two" })
        {
            var notice = await notices.Reader.ReadAsync();
            if (notice != expected) throw new Exception($"received {notice}, not {expected}");
        }
        if (connection.State != HubConnectionState.Connected) throw new Exception($"the connection is {connection.State}");
        var user = await connection.InvokeAsync<string>("Whoami");
        if (user != "alice") throw new Exception($"Whoami answered {user}");
    }
#endif
}
