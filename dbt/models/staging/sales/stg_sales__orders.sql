with

source as (

    select * from {{ source('sales', 'salesorderheader') }}

),

renamed as (

    select
        cast(salesorderid as {{ dbt.type_bigint() }}) as sales_order_id,
        cast(revisionnumber as {{ dbt.type_bigint() }}) as revision_number,
        cast(orderdate as date) as order_date,
        cast(duedate as date) as due_date,
        cast(shipdate as date) as ship_date,
        cast(status as {{ dbt.type_bigint() }}) as status_code,
        cast(onlineorderflag as {{ dbt.type_boolean() }}) as is_online_order,
        cast(purchaseordernumber as {{ dbt.type_string() }}) as purchase_order_number,
        cast(accountnumber as {{ dbt.type_string() }}) as account_number,
        cast(customerid as {{ dbt.type_bigint() }}) as customer_id,
        cast(salespersonid as {{ dbt.type_bigint() }}) as sales_person_id,
        cast(territoryid as {{ dbt.type_bigint() }}) as territory_id,
        cast(billtoaddressid as {{ dbt.type_bigint() }}) as bill_to_address_id,
        cast(shiptoaddressid as {{ dbt.type_bigint() }}) as ship_to_address_id,
        cast(shipmethodid as {{ dbt.type_bigint() }}) as ship_method_id,
        cast(creditcardid as {{ dbt.type_bigint() }}) as credit_card_id,
        cast(creditcardapprovalcode as {{ dbt.type_string() }}) as credit_card_approval_code,
        cast(currencyrateid as {{ dbt.type_bigint() }}) as currency_rate_id,
        cast(subtotal as {{ money_type() }}) as subtotal,
        cast(taxamt as {{ money_type() }}) as tax_amount,
        cast(freight as {{ money_type() }}) as freight,
        cast(totaldue as {{ money_type() }}) as total_due,
        cast(comment as {{ dbt.type_string() }}) as order_comment,
        cast(modifieddate as {{ dbt.type_timestamp() }}) as modified_at,
        _airbyte_extracted_at as _extracted_at

    from source

)

select * from renamed
