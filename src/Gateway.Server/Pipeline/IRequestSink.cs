namespace Gateway.Server.Pipeline;

/// <summary>
/// Takes every request's record as the request ends: the request log now; the usage store, budget
/// settlement and metrics later. Called on the request's own thread after the answer has gone out, so a
/// sink must not block: one that writes somewhere slow queues the record and returns.
/// </summary>
internal interface IRequestSink
{
    void Write(in RequestRecord record);
}
