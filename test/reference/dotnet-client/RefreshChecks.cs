// Authentication refresh (SignalR 11) with the official .NET client 11, against a hubwire server
// whose hub closes a connection when its user's authentication ends. Usage:
//   DotnetClient11 --refresh http://127.0.0.1:PORT/guarded
// Prints one JSON line per transport, as the other checks do. The server reads the test tokens
// of test/abuse/guarded-hub.ts: "<user>.<role>.<expires at, ms since the epoch>".
// Version 10 of the client has no refresh: there it throws.
using System.Text.Json;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR.Client;

namespace Hubwire.DotnetClient;

public static class RefreshChecks
{
    public static async Task Run(string url)
    {
#if SIGNALR11
        foreach (var transport in new[] { HttpTransportType.WebSockets, HttpTransportType.ServerSentEvents, HttpTransportType.LongPolling })
        {
            string? error = null;
            try
            {
                await KeepsConnectionPastFirstToken(url, transport).WaitAsync(TimeSpan.FromSeconds(30));
            }
            catch (Exception failure)
            {
                error = $"{failure.GetType().Name}: {failure.Message}";
            }
            Console.WriteLine(JsonSerializer.Serialize(new { combo = $"{transport}:json", check = "authentication refresh", ok = error is null, error }));
        }
#else
        await Task.FromException(new NotSupportedException($"this client has no authentication refresh ({url})"));
#endif
    }

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
#endif
}
