// Scripted checks of the official .NET SignalR client against a server of the interop fixture
// (interop-fixture.md). Usage:
//   DotnetClient --url http://127.0.0.1:PORT --proxy http://127.0.0.1:PROXYPORT --combos WebSockets:json,LongPolling:messagepack
// (or `--refresh <hub url> <open hub url>`: see RefreshChecks.cs)
// Prints one JSON line per check: {"combo":"WebSockets:json","check":"invoke","ok":true}, or with
// "ok":false and "error". The reconnect checks connect through --proxy, print {"cut":"<combo>"} and
// wait for a line on stdin once the driver has cut the proxied connections; the automatic reconnect
// check asks it to refuse new connections until it prints {"reconnecting":"<combo>"}.
using System.Text.Json;
using Hubwire.DotnetClient;
using Microsoft.AspNetCore.Http.Connections;

if (args is ["--refresh", var refreshUrl, var openUrl])
{
    await RefreshChecks.Run(refreshUrl, openUrl);
    return;
}
var options = Arguments.Parse(args);
foreach (var combo in options.Combos)
{
    var checks = new Checks(options.Url, options.ProxyUrl, combo);
    foreach (var (name, run) in checks.All())
    {
        string? error = null;
        try
        {
            await run().WaitAsync(TimeSpan.FromSeconds(20));
        }
        catch (Exception failure)
        {
            error = $"{failure.GetType().Name}: {failure.Message}";
        }
        Console.WriteLine(JsonSerializer.Serialize(new { combo = combo.Name, check = name, ok = error is null, error }));
    }
    await checks.DisposeAsync();
}

namespace Hubwire.DotnetClient
{
    public sealed record Combo(HttpTransportType Transport, bool MessagePack)
    {
        public string Name => $"{Transport}:{(MessagePack ? "messagepack" : "json")}";
    }

    public sealed record Arguments(string Url, string ProxyUrl, IReadOnlyList<Combo> Combos)
    {
        public static Arguments Parse(string[] args)
        {
            string Value(string name)
            {
                var index = Array.IndexOf(args, name);
                if (index < 0 || index + 1 >= args.Length) throw new ArgumentException($"missing {name}");
                return args[index + 1];
            }
            var combos = Value("--combos").Split(',').Select(text =>
            {
                var parts = text.Split(':');
                return new Combo(Enum.Parse<HttpTransportType>(parts[0]), parts[1] switch
                {
                    "json" => false,
                    "messagepack" => true,
                    _ => throw new ArgumentException($"unknown protocol {parts[1]}"),
                });
            }).ToList();
            return new Arguments(Value("--url").TrimEnd('/'), Value("--proxy").TrimEnd('/'), combos);
        }
    }
}
