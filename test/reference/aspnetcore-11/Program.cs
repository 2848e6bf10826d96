// GuardedHub of test/abuse/guarded-hub.ts on ASP.NET Core SignalR 11, with its authentication
// refresh on: the ground truth hubwire's refresh is compared with. Prints `listening on <url>`;
// GET /runtime answers the ASP.NET Core version it runs on.
using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Options;

var builder = WebApplication.CreateBuilder(args);
builder.WebHost.UseUrls("http://127.0.0.1:0");
builder.Logging.ClearProviders();
builder.Services.AddSignalR(options => options.EnableDetailedErrors = true);
builder.Services.AddAuthentication(TestTokens.SchemeName).AddScheme<AuthenticationSchemeOptions, TestTokens>(TestTokens.SchemeName, null);
builder.Services.AddAuthorization();

var app = builder.Build();
app.UseAuthentication();
app.UseAuthorization();
app.MapGet("/runtime", () => typeof(HttpConnectionDispatcherOptions).Assembly.GetName().Version!.ToString());
app.MapHub<GuardedHub>("/guarded", options =>
{
    options.CloseOnAuthenticationExpiration = true;
    SetOption11(options, "EnableAuthenticationRefresh", true);
});
// The same hub, no request's authentication counting for more than 2 seconds.
app.MapHub<GuardedHub>("/guarded-capped", options =>
{
    options.CloseOnAuthenticationExpiration = true;
    SetOption11(options, "EnableAuthenticationRefresh", true);
    SetOption11(options, "MaximumAuthenticationExpiration", (TimeSpan?)TimeSpan.FromSeconds(2));
});
// The same hub, where no refresh may make a user an admin (RefreshPolicies.NoPromotion).
app.MapHub<GuardedHub>("/guarded-no-promotion", options =>
{
    options.CloseOnAuthenticationExpiration = true;
    SetOption11(options, "EnableAuthenticationRefresh", true);
    var onRefresh = options.GetType().GetProperty("OnAuthenticationRefresh")!;
    SetOption11(options, "OnAuthenticationRefresh", Delegate.CreateDelegate(onRefresh.PropertyType, typeof(RefreshPolicies).GetMethod(nameof(RefreshPolicies.NoPromotion))!));
});

await app.StartAsync();
var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
Console.WriteLine($"listening on {address}");
await app.WaitForShutdownAsync();

// An ASP.NET Core 11 option, set by name: this builds against 10 and runs on 11.
static void SetOption11(HttpConnectionDispatcherOptions options, string name, object? value)
{
    var property = options.GetType().GetProperty(name)
        ?? throw new InvalidOperationException($"not ASP.NET Core 11: HttpConnectionDispatcherOptions has no {name}");
    property.SetValue(options, value);
}

/// <summary>OnAuthenticationRefresh policies, bound by reflection to ASP.NET Core 11's delegate type.</summary>
public static class RefreshPolicies
{
    /// <summary>No refresh may make a user an admin: roles only ever shrink while connected.</summary>
    public static Task<bool> NoPromotion(object context)
    {
        string? RoleOf(string property) =>
            (context.GetType().GetProperty(property)!.GetValue(context) as ClaimsPrincipal)?.FindFirst(ClaimTypes.Role)?.Value;
        return Task.FromResult(RoleOf("NewUser") != "admin" || RoleOf("PreviousUser") == "admin");
    }
}

/// <summary>For signed-in users; Restart for admins only (GuardedHub's methods).</summary>
[Authorize]
public sealed class GuardedHub : Hub
{
    public string? Whoami() => Context.UserIdentifier;

    [Authorize(Roles = "admin")]
    public string Restart() => "restarted";
}

/// <summary>
/// The tests' tokens, `&lt;user&gt;.&lt;role&gt;[.&lt;expires at, ms since the epoch&gt;]`, unsigned as in
/// guarded-hub.ts; the expiry becomes the ticket's, which SignalR closes connections at and
/// reports as the token's lifetime. Read as the reference server reads its tokens (RequestToken).
/// </summary>
public sealed class TestTokens(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "Test";

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var token = Hubwire.Reference.RequestToken.Of(Request);
        if (token is null) return Task.FromResult(AuthenticateResult.NoResult());
        var parts = token.Split('.');
        if (parts.Length < 2 || parts[0].Length == 0 || parts[1].Length == 0) return Task.FromResult(AuthenticateResult.Fail("malformed token"));
        DateTimeOffset? expires = null;
        if (parts.Length > 2)
        {
            if (!long.TryParse(parts[2], out var ms)) return Task.FromResult(AuthenticateResult.Fail("malformed token"));
            expires = DateTimeOffset.FromUnixTimeMilliseconds(ms);
            if (expires <= DateTimeOffset.UtcNow) return Task.FromResult(AuthenticateResult.Fail("expired token"));
        }
        var identity = new ClaimsIdentity([new Claim(ClaimTypes.NameIdentifier, parts[0]), new Claim(ClaimTypes.Role, parts[1])], SchemeName);
        var properties = new AuthenticationProperties { ExpiresUtc = expires };
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), properties, SchemeName)));
    }
}
