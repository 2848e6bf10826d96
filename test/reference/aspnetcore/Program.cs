// The interop fixture (samples/interop-server, spec: interop-fixture.md) on ASP.NET Core SignalR:
// the same hubs, paths and options, so one test suite can run against both servers.
using Hubwire.Reference;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR;

var port = int.TryParse(Environment.GetEnvironmentVariable("PORT"), out var p) ? p : 0;
var builder = WebApplication.CreateBuilder(args);
builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
builder.Logging.ClearProviders();
if (Environment.GetEnvironmentVariable("REFERENCE_LOG") is { Length: > 0 })
{
    builder.Logging.AddConsole().SetMinimumLevel(LogLevel.Debug);
}

// SHORT_TIMEOUTS=1 shortens every timer, as the conformance suite's "short" variant of the hubwire
// fixture does (test/conformance/variants.ts), so timeouts are seen without long waits.
var shortTimeouts = Environment.GetEnvironmentVariable("SHORT_TIMEOUTS") == "1";
var signalR = builder.Services.AddSignalR(options =>
    {
        options.EnableDetailedErrors = true;
        if (shortTimeouts)
        {
            options.HandshakeTimeout = TimeSpan.FromMilliseconds(500);
            options.KeepAliveInterval = TimeSpan.FromMilliseconds(300);
            options.ClientTimeoutInterval = TimeSpan.FromMilliseconds(1000);
        }
    })
    // Property names stay as written (the fixture's objects use PascalCase on the wire).
    .AddJsonProtocol(options => options.PayloadSerializerOptions.PropertyNamingPolicy = null)
    .AddMessagePackProtocol();
// Off by default: REFERENCE_REDIS_URL (redis://host:port) puts the hubs on ASP.NET Core's Redis
// backplane, with REFERENCE_REDIS_CHANNEL_PREFIX starting every channel, so hubwire servers can join
// the cluster. Not REDIS_URL: tests read that one for a shared Redis, which reference servers of
// other tests must not join.
if (Environment.GetEnvironmentVariable("REFERENCE_REDIS_URL") is { Length: > 0 } redisUrl)
{
    var redis = new Uri(redisUrl);
    var channelPrefix = Environment.GetEnvironmentVariable("REFERENCE_REDIS_CHANNEL_PREFIX") ?? "";
    signalR.AddStackExchangeRedis($"{redis.Host}:{redis.Port}", options =>
        options.Configuration.ChannelPrefix = StackExchange.Redis.RedisChannel.Literal(channelPrefix));
}
builder.Services.AddSingleton<IUserIdProvider, FixtureUserIdProvider>();
builder.Services.AddAuthentication(BearerTokenHandler.SchemeName)
    .AddScheme<AuthenticationSchemeOptions, BearerTokenHandler>(BearerTokenHandler.SchemeName, null);
builder.Services.AddAuthorization();

var app = builder.Build();

var redirects = 0;
app.Use(async (context, next) =>
{
    var path = context.Request.Path.Value ?? "";
    if (path.StartsWith("/redirect", StringComparison.OrdinalIgnoreCase))
    {
        var count = Interlocked.Increment(ref redirects);
        await context.Response.WriteAsJsonAsync(new { url = $"{context.Request.Query["baseUrl"]}/testHub?numRedirects={count}" });
        return;
    }
    if (path.EndsWith("/negotiate", StringComparison.OrdinalIgnoreCase))
    {
        context.Response.Cookies.Append("testCookie", "testValue");
        context.Response.Cookies.Append("testCookie2", "testValue2");
        context.Response.Cookies.Append("expiredCookie", "doesntmatter", new CookieOptions { Expires = DateTimeOffset.UnixEpoch });
    }
    await next(context);
});
app.UseAuthentication();
app.UseAuthorization();

app.MapGet("/generateJwtToken", () => Jwt.Sign("testuser", TimeSpan.FromSeconds(5)));
app.MapGet("/clientresult/{connectionId}", async (IHubContext<TestHub> hub, string connectionId) =>
{
    try
    {
        var result = await hub.Clients.Client(connectionId).InvokeAsync<int>("Result", CancellationToken.None);
        return result.ToString(System.Globalization.CultureInfo.InvariantCulture);
    }
    catch (Exception error)
    {
        return error.Message;
    }
});

// A client result asked of any connection of the interop hub, on this server or, over the backplane,
// on another.
app.MapGet("/interophub/clientresult/{connectionId}", async (IHubContext<InteropHub> hub, string connectionId) =>
{
    try
    {
        var result = await hub.Clients.Client(connectionId).InvokeAsync<double>("Result", CancellationToken.None);
        return result.ToString(System.Globalization.CultureInfo.InvariantCulture);
    }
    catch (Exception error)
    {
        return error.Message;
    }
});

// Adds any connection of the interop hub to a group or removes it, wherever it is held.
app.MapGet("/interophub/groups/{action}/{connectionId}/{group}", async (IHubContext<InteropHub> hub, string action, string connectionId, string group) =>
{
    try
    {
        if (action == "add") await hub.Groups.AddToGroupAsync(connectionId, group);
        else await hub.Groups.RemoveFromGroupAsync(connectionId, group);
        return "done";
    }
    catch (Exception error)
    {
        return error.Message;
    }
});

// Off by default, as in the hubwire fixture; ALLOW_STATEFUL_RECONNECTS=1 turns it on, as a test
// passes allowStatefulReconnects to hubwire's.
var stateful = Environment.GetEnvironmentVariable("ALLOW_STATEFUL_RECONNECTS") == "1";
app.MapHub<TestHub>("/testhub", options =>
{
    options.AllowStatefulReconnects = stateful;
    if (shortTimeouts) options.LongPolling.PollTimeout = TimeSpan.FromMilliseconds(500);
});
app.MapHub<TestHub>("/testhub-nowebsockets", options =>
{
    options.Transports = HttpTransportType.ServerSentEvents | HttpTransportType.LongPolling;
    options.AllowStatefulReconnects = stateful;
});
app.MapConnectionHandler<EchoConnectionHandler>("/echo");
app.MapHub<AuthorizedHub>("/authorizedhub", options => options.AllowStatefulReconnects = stateful);
app.MapHub<UncreatableHub>("/uncreatable", options => options.AllowStatefulReconnects = stateful);
app.MapHub<InteropHub>("/interophub", options => options.AllowStatefulReconnects = stateful);

await app.StartAsync();
var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
Console.WriteLine($"listening on {address}");
await app.WaitForShutdownAsync();
