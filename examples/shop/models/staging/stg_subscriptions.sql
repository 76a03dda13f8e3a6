with source as (

    select * from {{ source('shop_raw', 'raw_subscriptions') }}

)

select
    id as subscription_id,
    customer_id,
    plan as plan_name,
    mrr_cents,
    status as subscription_status,
    started_at,
    ended_at,
    coalesce(ended_at, date '9999-12-31') as valid_until,
    ended_at is null as is_current,
    cast(updated_at as timestamp) as updated_at
from source
