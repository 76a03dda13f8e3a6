with source as (

    select * from {{ source('shop_raw', 'raw_payments') }}

)

select
    id as payment_id,
    order_id,
    payment_method,
    status as payment_status,
    amount_cents,
    case when status = 'success' then amount_cents else 0 end as captured_amount_cents,
    cast(created_at as timestamp) as created_at
from source
